/* bjtime.c: today's date in Beijing (UTC+8) for the web-search prompt (bjtime.h). */
#include "prompt/bjtime.h"
#include "base/err.h"

#include <stdio.h>

void bjtime_format(time_t t, char out[BJTIME_SIZE])
{
	static const char *const days[7] = {
		"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"
	};
	struct tm tm;
	time_t beijing = t + 8 * 3600;
	gmtime_r(&beijing, &tm);
	snprintf(out, BJTIME_SIZE, "%04d-%02d-%02d %02d:%02d:%02d, %s, Beijing/China",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, days[tm.tm_wday]);
}

int bjtime_now(char out[BJTIME_SIZE])
{
	time_t t = time(NULL);
	if (t == (time_t)-1)
		return err_errno(ERR_IO, "cannot read the clock");
	bjtime_format(t, out);
	return 0;
}

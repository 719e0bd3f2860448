/* bjtime.h: the current time in Beijing for the web-search prompt's {date}.
 *
 * China has used UTC+8 all year since 1991, so no time-zone database is
 * needed: add 8 hours to UTC. The format is the one the model card
 * recommends: "2025-07-01 09:30:00, Tuesday, Beijing/China" (English
 * weekday names whatever the locale).
 */
#ifndef ERNIE_BJTIME_H
#define ERNIE_BJTIME_H

#include <time.h>

#define BJTIME_SIZE 64      /* bytes enough for any formatted time */

/* Format t (seconds since the epoch) into out. */
void bjtime_format(time_t t, char out[BJTIME_SIZE]);
/* The current time; 0, or ERR_IO if the clock cannot be read. */
int bjtime_now(char out[BJTIME_SIZE]);

#endif

#!/bin/sh
# websearch-cron.sh: answer a question from a file of web-search results, the
# way a cron job would: results (JSON from any search API: Bing-style
# name/snippet/url/datePublished/siteName, or title/content/url/date/site)
# -> ernie-prompt -r (the official web-search prompt, Beijing time)
# -> ernie-tok | ernie-run -n | ernie-detok -> OUTDIR/answer-YYYY-MM-DD-HHMM.txt
#
#   usage: websearch-cron.sh RESULTS.json "QUESTION" [OUTDIR]
#
# Crontab line (every morning at 7, with a model downloaded to ~/models and
# the programs installed under /usr/local, which cron's PATH lacks):
#   0 7 * * * PATH=/usr/local/bin:/usr/bin:/bin ERNIE_MODEL=$HOME/models/ERNIE-4.5-0.3B-PT $HOME/ernie/examples/websearch-cron.sh $HOME/news.json "今天有什么重要新闻？" $HOME/answers
#
# The answer is written whole or not at all (examples/answer.sh, beside this
# script): a reader never sees half an answer; on any failure nothing is left
# behind and the status is the failed program's (cron mails its message).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 RESULTS.json QUESTION [OUTDIR]" >&2; exit 2; }
results=$1 question=$2 outdir=${3:-.}
: "${ERNIE_MODEL:?set ERNIE_MODEL to a model directory}"
stamp=$(date +%Y-%m-%d-%H%M)
sh "$(dirname "$0")/answer.sh" "$outdir/answer-$stamp.txt" "-n 1024" \
	-r "$results" --max-ref-chars 2000 -u "$question"
echo "$outdir/answer-$stamp.txt"

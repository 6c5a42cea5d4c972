/* Reads lines "ZONE" or "Y M D h m s isdst" and prints, for each line of
 * fields, what the C library's mktime makes of them, in the zone of the last
 * ZONE line, in order: mktime remembers the offset it used last. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void) {
	char line[256];
	while (fgets(line, sizeof line, stdin)) {
		struct tm tm = {0};
		if (sscanf(line, "%d %d %d %d %d %d %d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tm.tm_isdst) != 7) {
			line[strcspn(line, "\n")] = 0;
			setenv("TZ", line, 1);
			tzset();
			continue;
		}
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		errno = 0;
		time_t t = mktime(&tm);
		if (t == (time_t) -1 && errno != 0) {
			puts("fail");
			continue;
		}
		printf("%lld %04d-%02d-%02d %02d:%02d:%02d %d %s %d\n", (long long) t,
		       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		       tm.tm_sec, tm.tm_isdst, tm.tm_zone, tm.tm_wday);
	}
	return 0;
}

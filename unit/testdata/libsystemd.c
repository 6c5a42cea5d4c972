/* Runs functions of the installed libsystemd-shared on inputs from files,
 * for differential tests: "env FILE..." prints what load_env_file reads
 * from each file; "argv FILE..." prints what replace_env_argv makes of the
 * argv and environment in each file (two lists of NUL-terminated strings,
 * each list ended by an empty string). Each result is a line "ok N" or
 * "err ERRNO", then N strings, each as its length, a space, its bytes and
 * a newline. "names" prints exit_status_to_string's and signal_to_string's
 * names. The prototypes are those of systemd 252. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int load_env_file(FILE *f, const char *fname, char ***ret);
const char *exit_status_to_string(int code, int class);
const char *signal_to_string(int sig);
char **replace_env_argv(char **argv, char **env);
void log_set_max_level(int level);

static void print_list(char **l) {
	size_t n = 0;
	while (l && l[n]) n++;
	printf("ok %zu\n", n);
	for (size_t i = 0; i < n; i++)
		printf("%zu %s\n", strlen(l[i]), l[i]);
}

static char **read_list(char **p, char *end) {
	size_t cap = 8, n = 0;
	char **l = calloc(cap, sizeof(char *));
	while (*p < end && **p) {
		if (n + 1 >= cap) l = realloc(l, (cap *= 2) * sizeof(char *));
		l[n++] = *p;
		*p += strlen(*p) + 1;
	}
	(*p)++;
	l[n] = NULL;
	return l;
}

int main(int argc, char **argv) {
	log_set_max_level(0);
	if (argc > 1 && strcmp(argv[1], "names") == 0) {
		/* EXIT_STATUS_FULL: libc, systemd and LSB names. */
		for (int i = 0; i < 256; i++) {
			const char *s = exit_status_to_string(i, 1 | 2 | 4);
			printf("exit %d %s\n", i, s ? s : "(null)");
		}
		for (int i = 1; i <= 64; i++)
			printf("signal %d %s\n", i, signal_to_string(i));
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[1], "env") == 0) {
			char **l = NULL;
			int r = load_env_file(NULL, argv[i], &l);
			if (r < 0) printf("err %d\n", -r);
			else print_list(l);
			continue;
		}
		FILE *f = fopen(argv[i], "rb");
		static char buf[1 << 20];
		size_t len = fread(buf, 1, sizeof(buf) - 2, f);
		fclose(f);
		buf[len] = buf[len + 1] = 0;
		char *p = buf, *end = buf + len;
		char **a = read_list(&p, end), **e = read_list(&p, end);
		print_list(replace_env_argv(a, e));
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * pvio up: start the host daemons in the background (pvio-hv, then
 * pvio-store, pvio-blkback, pvio-netback if they were built next to pvio),
 * with pidfiles and logs in the run dir; wait until each is serving.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio_cmd.h"
#include "pvio_hvcmd.h"

const struct pvio_daemon pvio_daemons[] = {
	{ "hv", "pvio-hv", "hv.sock", true },
	{ "store", "pvio-store", "store.sock", false },
	{ "blkback", "pvio-blkback", NULL, false },
	{ "netback", "pvio-netback", NULL, false },
};
const unsigned int pvio_nr_daemons = sizeof(pvio_daemons) / sizeof(pvio_daemons[0]);

bool pvio_pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* a zombie nobody reaped yet has stopped serving */
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

pid_t pvio_daemon_pid(const char *rundir, const struct pvio_daemon *dm)
{
	char path[PATH_MAX], buf[PATH_MAX];
	long pid = 0;
	FILE *f;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s.pid", rundir, dm->name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || pid > INT_MAX || !pvio_pid_alive((pid_t)pid))
		return 0;
	/* the pid may have been recycled: it must still be our daemon */
	snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	{
		const char *base = strrchr(buf, '/');

		base = base ? base + 1 : buf;
		if (strncmp(base, dm->binary, strlen(dm->binary)))
			return 0;
	}
	return (pid_t)pid;
}

/* Does something accept connections on @path (either socket type)? */
static bool socket_live(const char *path)
{
	static const int types[] = { SOCK_SEQPACKET, SOCK_STREAM };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	for (unsigned int i = 0; i < 2; i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		bool ok;

		if (fd < 0)
			continue;
		ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return true;
	}
	return false;
}

static int bin_dir(char *out, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", out, len - 1);
	char *slash;

	if (n <= 0)
		return -errno;
	out[n] = 0;
	slash = strrchr(out, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	return 0;
}

static void log_tail(const char *log)
{
	char cmd[PATH_MAX + 32];

	fprintf(stderr, "--- last lines of %s:\n", log);
	snprintf(cmd, sizeof(cmd), "tail -n 5 '%s' >&2", log);
	if (system(cmd) < 0)
		fprintf(stderr, "(cannot show it)\n");
}

/*
 * A daemon's log, as a service manager would keep it: each line stamped
 * with the wall-clock time. Reads @in until every writer is gone.
 */
static void __attribute__((noreturn)) log_stamper(int in, int out)
{
	char buf[4096], line[4096 + 64];
	size_t have = 0;
	bool bol = true;

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (bol) {
				struct timespec ts;
				struct tm tm;

				clock_gettime(CLOCK_REALTIME, &ts);
				localtime_r(&ts.tv_sec, &tm);
				have += strftime(line + have, sizeof(line) - have,
						 "%Y-%m-%d %H:%M:%S", &tm);
				have += (size_t)snprintf(line + have,
							 sizeof(line) - have,
							 ".%03ld ",
							 ts.tv_nsec / 1000000);
				bol = false;
			}
			line[have++] = buf[i];
			if (buf[i] == '\n' || have >= sizeof(line) - 64) {
				if (write(out, line, have) < 0)
					_exit(1);
				have = 0;
				bol = buf[i] == '\n';
			}
		}
	}
	if (have && write(out, line, have) < 0)
		_exit(1);
	_exit(0);
}

static int start_one(const char *rundir, const char *bindir,
		     const struct pvio_daemon *dm)
{
	char exe[PATH_MAX + 64], log[PATH_MAX], pidf[PATH_MAX], sock[PATH_MAX], arg[PATH_MAX];
	struct timespec t0, now;
	pid_t pid;
	FILE *f;

	snprintf(exe, sizeof(exe), "%s/%s", bindir, dm->binary);
	if (access(exe, X_OK) < 0) {
		if (dm->required) {
			fprintf(stderr, "pvio up: %s not found in %s\n", dm->binary, bindir);
			return -ENOENT;
		}
		return 0;
	}
	pid = pvio_daemon_pid(rundir, dm);
	if (pid > 0) {
		printf("%s already running (pid %d)\n", dm->binary, (int)pid);
		return 0;
	}
	if (dm->socket) {
		snprintf(sock, sizeof(sock), "%s/%s", rundir, dm->socket);
		if (socket_live(sock)) {
			printf("%s already serving %s (not started by pvio up)\n",
			       dm->binary, sock);
			return 0;
		}
	}
	snprintf(log, sizeof(log), "%s/%s.log", rundir, dm->name);
	snprintf(pidf, sizeof(pidf), "%s/%s.pid", rundir, dm->name);
	if (dm->socket) {
		snprintf(sock, sizeof(sock), "%s/%s", rundir, dm->socket);
		unlink(sock);	/* stale, from a daemon that died */
	}
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int nul = open("/dev/null", O_RDONLY);
		int p[2];

		setsid();
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0)
			_exit(127);
		/* the daemon writes into a pipe; a stamper writes the log */
		if (pipe2(p, O_CLOEXEC) == 0) {
			pid_t lg = fork();

			if (lg == 0) {
				close(p[1]);
				log_stamper(p[0], fd);
			}
			if (lg > 0) {
				close(fd);
				fd = p[1];
			}
			close(p[0]);
		}
		if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		setenv("PVIO_RUNDIR", rundir, 1);
		if (!strcmp(dm->name, "store")) {
			snprintf(arg, sizeof(arg), "%s/store.sock", rundir);
			execl(exe, dm->binary, "--socket", arg, (char *)NULL);
		} else {
			execl(exe, dm->binary, "--rundir", rundir, (char *)NULL);
		}
		fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	f = fopen(pidf, "w");
	if (f) {
		fprintf(f, "%d\n", (int)pid);
		fclose(f);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "pvio up: %s exited at start\n", dm->binary);
			log_tail(log);
			unlink(pidf);
			return -ECHILD;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (dm->socket && access(sock, F_OK) == 0)
			break;
		/* no socket to wait for: alive after a moment is good enough */
		if (!dm->socket && now.tv_sec * 1000 + now.tv_nsec / 1000000 -
				   t0.tv_sec * 1000 - t0.tv_nsec / 1000000 > 300)
			break;
		if (now.tv_sec - t0.tv_sec > 10) {
			fprintf(stderr, "pvio up: %s did not create %s within 10 s\n",
				dm->binary, sock);
			log_tail(log);
			return -ETIMEDOUT;
		}
		usleep(20000);
	}
	printf("started %s (pid %d), log %s\n", dm->binary, (int)pid, log);
	return 0;
}

static int up_run(int argc, char **argv);
static struct pvio_cmd up_cmd = {
	.name = "up",
	.usage = "",
	.help = "start pvio-hv and the other host daemons in the background",
	.run = up_run,
};

static int up_run(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	char bindir[PATH_MAX];
	int opt_rc = pvio_args_plain(&up_cmd, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc != 1)
		return pvio_cmd_usage(&up_cmd);
	if (mkdir(rundir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "pvio up: cannot create %s: %s\n", rundir, strerror(errno));
		return 1;
	}
	if (bin_dir(bindir, sizeof(bindir)) < 0) {
		fprintf(stderr, "pvio up: cannot find my own directory\n");
		return 1;
	}
	/* the daemons outlive us: do not let them inherit a dying terminal */
	signal(SIGHUP, SIG_IGN);
	for (unsigned int i = 0; i < pvio_nr_daemons; i++)
		if (start_one(rundir, bindir, &pvio_daemons[i]) < 0)
			return 1;
	return 0;
}

PVIO_CMD(up_cmd)

// SPDX-License-Identifier: MIT
/*
 * blkback qdisk store: images in any of QEMU's formats (qcow2, vmdk, vhdx,
 * vpc, qed, ...; raw too with backendtype=qdisk). One qemu-storage-daemon
 * per disk opens the image (and its backing chain) and exports it over NBD
 * on a Unix socket in the run dir; the NBD store serves it from there.
 *
 * The daemon is blkback's child with PR_SET_PDEATHSIG, so it ends with
 * blkback even on a crash; its pid file (written by the daemon once its
 * export is up) lets a restarted blkback stop one that survived anyway. It goes when the disk goes (SIGTERM: QEMU writes
 * back its metadata caches and exits; SIGKILL after 5 s). If it dies while
 * the disk is in use, the control loop's tick starts it again on the same
 * socket and the queues reconnect, sending again what was unanswered.
 *
 * No iothread= on the export: qemu-storage-daemon 7.2 aborts when a client
 * disconnects from an export that has one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "blkback.h"

#define QDISK_START_TIMEOUT_MS	10000
#define QDISK_STOP_TIMEOUT_MS	5000
#define QDISK_EXPORT		"disk"

struct qdisk {
	pid_t pid;
	bool readonly;
	bool direct;
	char sock[108];		/* sun_path */
	char pidfile[300];
	char log[300];
	unsigned int restarts;
};

/* Append @s to @out as a JSON string (quotes and escapes). */
static int json_str(char *out, size_t size, const char *s)
{
	size_t n = strlen(out);

	if (n + 2 >= size)
		return -ENAMETOOLONG;
	out[n++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (n + 7 >= size)
			return -ENAMETOOLONG;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = '"';
	out[n] = 0;
	return 0;
}

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000l };

	nanosleep(&ts, NULL);
}

/* True if pid @pid is a qemu-storage-daemon serving socket @sock. */
static bool is_our_daemon(pid_t pid, const char *sock)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	return strstr(buf, "qemu-storage-daemon") && strstr(buf, sock);
}

/* A daemon left by an earlier blkback for this disk: stop it. */
static void stop_stale(struct qdisk *qd)
{
	char buf[32];
	ssize_t n;
	pid_t pid;
	int fd = open(qd->pidfile, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(qd->pidfile);
	if (n <= 0)
		return;
	buf[n] = 0;
	pid = (pid_t)atoi(buf);
	if (pid <= 1 || !is_our_daemon(pid, qd->sock))
		return;
	blkback_log("stopping qemu-storage-daemon %d left from an earlier run (%s)",
		    (int)pid, qd->sock);
	kill(pid, SIGTERM);
	for (int i = 0; i < QDISK_STOP_TIMEOUT_MS / 50 && !kill(pid, 0); i++)
		msleep(50);
	kill(pid, SIGKILL);
}

/* The last line the daemon printed, for the error node. */
static void log_tail(const struct qdisk *qd, char *out, size_t size)
{
	char buf[2048];
	ssize_t n;
	int fd = open(qd->log, O_RDONLY | O_CLOEXEC);

	out[0] = 0;
	if (fd < 0)
		return;
	if (lseek(fd, 0, SEEK_END) > (off_t)sizeof(buf) - 1)
		lseek(fd, -(off_t)(sizeof(buf) - 1), SEEK_END);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	{
		char *nl = strrchr(buf, '\n');

		const char *last = nl ? nl + 1 : buf;
		const char *opt = strstr(last, "}: ");
		size_t len;

		/* "qemu-storage-daemon: --blockdev {...}: what went wrong" */
		if (opt)
			last = opt + 3;
		len = strlen(last);

		if (len >= size)
			len = size - 1;
		memcpy(out, last, len);
		out[len] = 0;
	}
}

/* The daemon writes its pid file once its export takes connections. */
static bool daemon_ready(const struct qdisk *qd)
{
	struct stat st;

	return !stat(qd->pidfile, &st) && st.st_size > 0;
}

/* Start the daemon for @disk and wait until its socket takes connections. */
static int qdisk_start(struct blkback_disk *disk, struct qdisk *qd)
{
	const char *qsd = getenv("PVIO_QEMU_STORAGE_DAEMON");
	char file[1024], fmt[1400], nbd[300], exp[200];
	const char *fmtname = strcmp(disk->format, "vhd") ? disk->format : "vpc";
	char *argv[14];
	uint64_t waited = 0;
	pid_t parent = getpid();
	int rc, i = 0;

	if (!qsd || !*qsd)
		qsd = "qemu-storage-daemon";
	/* the protocol layer: the file or the device, then the format on it */
	snprintf(file, sizeof(file), "{\"driver\":\"%s\",\"node-name\":\"file0\",\"filename\":",
		 disk->blockdev ? "host_device" : "file");
	rc = json_str(file, sizeof(file), disk->params);
	if (rc)
		return rc;
	snprintf(file + strlen(file), sizeof(file) - strlen(file),
		 ",\"cache\":{\"direct\":%s},\"aio\":\"%s\",\"read-only\":%s}",
		 qd->direct ? "true" : "false", qd->direct ? "native" : "threads",
		 qd->readonly ? "true" : "false");
	snprintf(fmt, sizeof(fmt),
		 "{\"driver\":\"%s\",\"node-name\":\"disk0\",\"file\":\"file0\",\"read-only\":%s}",
		 fmtname, qd->readonly ? "true" : "false");
	snprintf(nbd, sizeof(nbd), "{\"addr\":{\"type\":\"unix\",\"path\":");
	rc = json_str(nbd, sizeof(nbd), qd->sock);
	if (rc)
		return rc;
	strcat(nbd, "}}");
	snprintf(exp, sizeof(exp),
		 "{\"type\":\"nbd\",\"id\":\"exp0\",\"node-name\":\"disk0\",\"name\":\"%s\",\"writable\":%s}",
		 QDISK_EXPORT, qd->readonly ? "false" : "true");
	argv[i++] = (char *)qsd;
	argv[i++] = "--blockdev";
	argv[i++] = file;
	argv[i++] = "--blockdev";
	argv[i++] = fmt;
	argv[i++] = "--nbd-server";
	argv[i++] = nbd;
	argv[i++] = "--export";
	argv[i++] = exp;
	argv[i++] = "--pidfile";
	argv[i++] = qd->pidfile;
	argv[i] = NULL;

	unlink(qd->sock);
	unlink(qd->pidfile);
	qd->pid = fork();
	if (qd->pid < 0)
		return -errno;
	if (qd->pid == 0) {
		int fd = open(qd->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);

		/* goes with blkback, however blkback ends */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		/* none of blkback's sockets, rings or eventfds */
		if (close_range(3, ~0u, 0))
			for (int f = 3; f < 4096; f++)
				close(f);
		{
			sigset_t all;

			sigemptyset(&all);
			sigprocmask(SIG_SETMASK, &all, NULL);
		}
		execvp(qsd, argv);
		fprintf(stderr, "cannot run %s: %s\n", qsd, strerror(errno));
		_exit(127);
	}
	for (;;) {
		int st;

		if (waitpid(qd->pid, &st, WNOHANG) == qd->pid) {
			char tail[128];

			qd->pid = 0;
			log_tail(qd, tail, sizeof(tail));
			snprintf(disk->open_why, sizeof(disk->open_why),
				 "qemu-storage-daemon on %.30s failed: %.90s",
				 disk->params, tail[0] ? tail : "no message");
			return -EIO;
		}
		if (daemon_ready(qd))
			break;
		if (waited >= QDISK_START_TIMEOUT_MS) {
			snprintf(disk->open_why, sizeof(disk->open_why),
				 "qemu-storage-daemon on %.80s did not start in %u s",
				 disk->params, QDISK_START_TIMEOUT_MS / 1000);
			kill(qd->pid, SIGKILL);
			waitpid(qd->pid, NULL, 0);
			qd->pid = 0;
			return -ETIMEDOUT;
		}
		msleep(20);
		waited += 20;
	}
	return 0;
}

static void qdisk_stop(struct qdisk *qd)
{
	int st;

	if (qd->pid <= 0)
		return;
	kill(qd->pid, SIGTERM);
	for (int i = 0; i < QDISK_STOP_TIMEOUT_MS / 20; i++) {
		if (waitpid(qd->pid, &st, WNOHANG) == qd->pid) {
			qd->pid = 0;
			break;
		}
		msleep(20);
	}
	if (qd->pid > 0) {
		blkback_log("qemu-storage-daemon %d did not stop: killing it",
			    (int)qd->pid);
		kill(qd->pid, SIGKILL);
		waitpid(qd->pid, NULL, 0);
		qd->pid = 0;
	}
	unlink(qd->sock);
	unlink(qd->pidfile);
}

static int qdisk_open(struct blkback_disk *disk, bool readonly,
		      uint32_t want_sector_size)
{
	const char *rundir = disk->ctx ? disk->ctx->rundir : NULL;
	struct qdisk *qd;
	char uri[300];
	struct stat st;
	int fd, rc;

	if (!rundir)
		return -EINVAL;
	if (stat(disk->params, &st)) {
		rc = -errno;
		snprintf(disk->open_why, sizeof(disk->open_why), "%.100s: %s",
			 disk->params, strerror(errno));
		return rc;
	}
	qd = calloc(1, sizeof(*qd));
	if (!qd)
		return -ENOMEM;
	disk->blockdev = S_ISBLK(st.st_mode);
	qd->readonly = readonly;
	/* O_DIRECT where the file system has it (not tmpfs) */
	fd = open(disk->params, (readonly ? O_RDONLY : O_RDWR) | O_DIRECT |
		  O_CLOEXEC);
	qd->direct = fd >= 0;
	if (fd >= 0)
		close(fd);
	if ((size_t)snprintf(qd->sock, sizeof(qd->sock), "%s/qdisk-%u-%u.sock",
			     rundir, disk->domid, disk->vdev) >= sizeof(qd->sock)) {
		free(qd);
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "run dir path too long for a Unix socket");
		return -ENAMETOOLONG;
	}
	snprintf(qd->pidfile, sizeof(qd->pidfile), "%s/qdisk-%u-%u.pid", rundir,
		 disk->domid, disk->vdev);
	snprintf(qd->log, sizeof(qd->log), "%s/qdisk-%u-%u.log", rundir,
		 disk->domid, disk->vdev);
	stop_stale(qd);
	rc = qdisk_start(disk, qd);
	if (rc) {
		if (!disk->open_why[0])
			snprintf(disk->open_why, sizeof(disk->open_why),
				 "starting qemu-storage-daemon: %s", strerror(-rc));
		free(qd);
		return rc;
	}
	snprintf(uri, sizeof(uri), "nbd+unix:///" QDISK_EXPORT "?socket=%s",
		 qd->sock);
	rc = blkback_nbd_open_uri(disk, uri, readonly, want_sector_size);
	if (rc) {
		qdisk_stop(qd);
		free(qd);
		return rc;
	}
	disk->store_priv = qd;
	blkback_log("%s: %s image %s served by qemu-storage-daemon %d on %s",
		    disk->be_path, disk->format, disk->params, (int)qd->pid,
		    qd->sock);
	return 0;
}

static void qdisk_close(struct blkback_disk *disk)
{
	struct qdisk *qd = disk->store_priv;

	blkback_nbd_close(disk);
	if (!qd)
		return;
	qdisk_stop(qd);
	free(qd);
	disk->store_priv = NULL;
}

/* Once a second from the control loop: a daemon that died is restarted. */
static void qdisk_tick(struct blkback_disk *disk)
{
	struct qdisk *qd = disk->store_priv;
	int st;

	if (!qd || qd->pid <= 0 || waitpid(qd->pid, &st, WNOHANG) != qd->pid)
		return;
	qd->pid = 0;
	qd->restarts++;
	blkback_log("%s: qemu-storage-daemon for %s %s %d: starting it again",
		    disk->be_path, disk->params,
		    WIFSIGNALED(st) ? "killed by signal" : "exited with",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	disk->open_why[0] = 0;
	if (qdisk_start(disk, qd))
		blkback_log("%s: %s", disk->be_path, disk->open_why);
}

const struct blkback_store_ops blkback_store_qdisk = {
	.name = "qdisk",
	.open = qdisk_open,
	.close = qdisk_close,
	.tick = qdisk_tick,
};

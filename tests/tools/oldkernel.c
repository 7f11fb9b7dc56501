/* oldkernel: run a program as if on Linux 3.10 (CentOS 7).
 *
 *   oldkernel PROGRAM [ARGS...]
 *
 * Every system call that x86_64 Linux added after 3.10 (sched_setattr, 314,
 * onward: renameat2, getrandom, memfd_create, copy_file_range, statx, rseq,
 * clone3, close_range, openat2, faccessat2, ...) fails with ENOSYS, as it
 * would there, and so does the FICLONE ioctl (4.5), with ENOTTY.  uname()
 * reports a 2.6-era release (personality UNAME26), which is what OpenSSL
 * and others look at to pick their code paths.  The filter is inherited by
 * every child, and cannot be lifted. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FIRST_AFTER_3_10 314 /* __NR_sched_setattr, Linux 3.14 */
#define FICLONE_CMD 0x40049409u
#define X32_BIT 0x40000000u

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))

int main(int argc, char **argv)
{
	struct sock_filter code[] = {
		LOAD(arch),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		RET(SECCOMP_RET_KILL),
		LOAD(nr),
		/* x32 system calls did not exist for this program either */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT, 0, 1),
		RET(SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, FIRST_AFTER_3_10, 0, 1),
		RET(SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 3),
		LOAD(args[1]),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FICLONE_CMD, 0, 1),
		RET(SECCOMP_RET_ERRNO | ENOTTY),
		RET(SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof code / sizeof code[0], code };

	if (argc < 2) {
		fprintf(stderr, "usage: oldkernel PROGRAM [ARGS...]\n");
		return 2;
	}
	if (personality(PER_LINUX | UNAME26) < 0) {
		perror("oldkernel: personality(UNAME26)");
		return 126;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("oldkernel: seccomp");
		return 126;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "oldkernel: %s: %s\n", argv[1], strerror(errno));
	return 127;
}

/*
 * podmem-alloc: the VM guest's stand-in for a container's program. Allocates MIB MiB
 * of anonymous memory and touches every page so the memory cgroup is charged, prints
 * "allocated MIB MiB", then exits 0 (or, with "hold", sleeps until killed so the charge
 * stays). A cgroup limit below MIB gets it OOM-killed (SIGKILL) while touching.
 *
 *   podmem-alloc MIB [hold]
 *
 * Built static (gcc -static) by scripts/vm/build-initramfs.sh: the guest has no libc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "hold") != 0)) {
		fprintf(stderr, "usage: %s MIB [hold]\n", argv[0]);
		return 2;
	}
	char *end;
	unsigned long mib = strtoul(argv[1], &end, 10);
	if (*end != '\0' || mib == 0) {
		fprintf(stderr, "%s: bad size '%s'\n", argv[0], argv[1]);
		return 2;
	}
	size_t len = mib << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	long page = sysconf(_SC_PAGESIZE);
	for (size_t off = 0; off < len; off += (size_t)page)
		p[off] = 1;
	printf("allocated %lu MiB\n", mib);
	fflush(stdout);
	if (argc == 3)
		for (;;)
			pause();
	return 0;
}

/*
 * true_static.c - the exec target of bench/exec_rate: a static binary with no libc that exits 0.
 *
 * Why not /bin/true: a dynamically linked target spends most of each exec in the loader (mmap of
 * libc, relocations), which caps the loop at ~2.3k exec/s here and buries the agent's cost under
 * noise; this one is ~6k/s, so the exec path the agent hooks is the bulk of what is measured.
 * x86_64 only (the raw exit_group syscall below), like the rest of the build (ARCH := x86).
 */
#define SYS_EXIT_GROUP 231

void _start(void) __attribute__((noreturn, used));

void _start(void)
{
	__asm__ volatile("syscall" : : "a"(SYS_EXIT_GROUP), "D"(0) : "rcx", "r11", "memory");
	__builtin_unreachable();
}

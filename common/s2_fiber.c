/* s2_fiber: ucontext fibers with sanitizer and valgrind annotations. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/s2_fiber.h"

#if defined(__SANITIZE_ADDRESS__)
#define S2_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S2_FIBER_ASAN 1
#endif
#endif
#ifdef S2_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define S2_FIBER_VALGRIND 1
#endif
#endif

/* The fiber a switch enters: its trampoline reads it (makecontext passes
 * only ints). */
static _Thread_local struct s2_fiber *entering;

void s2_fiber_main(struct s2_fiber *f)
{
	*f = (struct s2_fiber){ 0 };
}

/* Stacks of deleted fibers, kept for the next ones of this thread: a
 * fuzzer builds a machine per schedule, and a stack's mapping costs more
 * than the run that uses it. */
#define SPARE_MAX 8
static _Thread_local struct spare {
	void *stack;
	size_t size;
	unsigned vg_id;
} spare[SPARE_MAX];
static _Thread_local unsigned nspare;

bool s2_fiber_new(struct s2_fiber *f, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	*f = (struct s2_fiber){ 0 };
	size = (size + page - 1) / page * page;
	for (unsigned i = 0; i < nspare; i++) {
		if (spare[i].size != size)
			continue;
		f->stack = spare[i].stack;
		f->size = size;
		f->vg_id = spare[i].vg_id;
		f->bottom = f->stack;
		f->bottom_size = size;
		spare[i] = spare[--nspare];
		return true;
	}
	/* The lowest page is a guard: an overflow faults instead of writing
	 * over whatever lies below. */
	uint8_t *base = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return false;
	if (mprotect(base, page, PROT_NONE)) {
		munmap(base, size + page);
		return false;
	}
	f->stack = base + page;
	f->size = size;
	f->bottom = f->stack;
	f->bottom_size = size;
#ifdef S2_FIBER_VALGRIND
	f->vg_id = VALGRIND_STACK_REGISTER(f->stack, (uint8_t *)f->stack + size);
#endif
	return true;
}

static void trampoline(void)
{
	struct s2_fiber *f = entering;
#ifdef S2_FIBER_ASAN
	/* A fresh stack has no fake stack to restore; learn where the
	 * switching fiber's stack is, to switch back to it. */
	__sanitizer_finish_switch_fiber(NULL, &f->from->bottom, &f->from->bottom_size);
#endif
	f->fn(f->arg);
	/* A fiber's function ends by switching away for good. */
	abort();
}

void s2_fiber_start(struct s2_fiber *f, void (*fn)(void *arg), void *arg)
{
	f->fn = fn;
	f->arg = arg;
	f->asan_fake = NULL;
#ifdef S2_FIBER_ASAN
	/* Frames of the fiber's last life may have left poisoned redzones. */
	ASAN_UNPOISON_MEMORY_REGION(f->stack, f->size);
#endif
	getcontext(&f->uc);
	f->uc.uc_stack.ss_sp = f->stack;
	f->uc.uc_stack.ss_size = f->size;
	f->uc.uc_link = NULL;
	makecontext(&f->uc, trampoline, 0);
}

void s2_fiber_switch(struct s2_fiber *self, struct s2_fiber *to, bool dying)
{
	to->from = self;
	entering = to;
#ifdef S2_FIBER_ASAN
	__sanitizer_start_switch_fiber(dying ? NULL : &self->asan_fake, to->bottom,
				       to->bottom_size);
#else
	(void)dying;
#endif
	swapcontext(&self->uc, &to->uc);
#ifdef S2_FIBER_ASAN
	/* Back in self, switched to by self->from. */
	__sanitizer_finish_switch_fiber(self->asan_fake, &self->from->bottom,
					&self->from->bottom_size);
#endif
}

void s2_fiber_delete(struct s2_fiber *f)
{
	if (!f->stack)
		return;
	if (nspare < SPARE_MAX) {
		spare[nspare++] = (struct spare){ f->stack, f->size, f->vg_id };
		f->stack = NULL;
		return;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
#ifdef S2_FIBER_VALGRIND
	VALGRIND_STACK_DEREGISTER(f->vg_id);
#endif
	munmap((uint8_t *)f->stack - page, f->size + page);
	f->stack = NULL;
}

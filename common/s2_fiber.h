/* s2_fiber: stacks to switch between inside one thread (coroutines), for
 * running several operations in flight at once, each on its own stack.
 *
 * Built on ucontext (makecontext, swapcontext). Each switch tells
 * AddressSanitizer which stack it moves to (__sanitizer_start_switch_fiber
 * and __sanitizer_finish_switch_fiber) when the build uses it, and a
 * fiber's stack is registered with valgrind when <valgrind/valgrind.h> is
 * there at build time (optional). A fiber is one-shot per start: its
 * function must not return; it ends by switching away for good
 * (s2_fiber_switch with dying set), after which s2_fiber_start may give it
 * a new function on the same stack. */
#ifndef S2_FIBER_H
#define S2_FIBER_H

#include <stdbool.h>
#include <stddef.h>
#include <ucontext.h>

struct s2_fiber {
	ucontext_t uc;
	void *stack;		/* NULL: the thread's own stack (the main fiber) */
	size_t size;
	/* What the sanitizer needs to switch back: this fiber's fake stack
	 * while switched out, and its stack's bounds (learnt for the main
	 * fiber at its first switch out). */
	void *asan_fake;
	const void *bottom;
	size_t bottom_size;
	struct s2_fiber *from;	/* the fiber that last switched to this one */
	void (*fn)(void *arg);
	void *arg;
	unsigned vg_id;		/* valgrind's stack id, when registered */
};

/* The calling thread's own stack, as a fiber to switch back to. */
void s2_fiber_main(struct s2_fiber *f);
/* A fiber with a stack of size bytes (rounded up to pages, plus a guard
 * page); false when out of memory. */
bool s2_fiber_new(struct s2_fiber *f, size_t size);
/* Give f (not running) fn to run from the start of its stack at the next
 * switch to it. */
void s2_fiber_start(struct s2_fiber *f, void (*fn)(void *arg), void *arg);
/* Switch from self (the running fiber) to to. dying: self will never be
 * switched to again (it ended, or will be started afresh). */
void s2_fiber_switch(struct s2_fiber *self, struct s2_fiber *to, bool dying);
/* Free f's stack (f not running); the thread keeps a few for its next
 * fibers. */
void s2_fiber_delete(struct s2_fiber *f);

#endif

/* The generic host-event generator: random programs of host operations
 * (accesses, fork, exit, GUP and pins, DMA, unmap, mprotect, clear_refs,
 * swap, migration, KSM, THP split and collapse, LRU batches) over a small
 * world, so that a search over seeds finds each policy's known break
 * without being told the scenario. */
#include <stdarg.h>
#include <stdio.h>

#include "common/s2_err.h"
#include "host-mm/s2host_scenario.h"

#define K4 S2HOST_PAGE_SIZE
#define M2 S2HOST_THP_SIZE
#define RW (S2HOST_PROT_READ | S2HOST_PROT_WRITE)
#define SMALL_PAGES 2		/* small anonymous pages at hva 0 */
#define THP_BASE M2		/* a THP-enabled 2 MiB at 2 MiB */
#define MAX_PROCS 3
#define MAX_REFS 8

struct world {
	struct s2host *h;
	uint64_t rng;
	int procs[MAX_PROCS];
	unsigned nr_procs;
	unsigned refs[MAX_REFS];
	unsigned ref_label[MAX_REFS];	/* the program's R labels */
	unsigned nr_refs, labels;
	void (*log)(void *, const char *);
	void *log_arg;
};

/* splitmix64 */
static uint64_t next(struct world *w)
{
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned pick(struct world *w, unsigned n)
{
	return (unsigned)(next(w) % n);
}

static void say(struct world *w, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One line of the host program (docs/trace-format.md), with "!ERR" when
 * the operation failed, so that a replay checks the same outcome. */
static void say(struct world *w, int err, const char *fmt, ...)
{
	char line[160];
	va_list ap;

	if (!w->log)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (err < 0 && n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, " !%s", s2_err_name(err));
	w->log(w->log_arg, line);
}

/* An address: one of the small pages, or a page of the THP range. */
static uint64_t addr(struct world *w)
{
	unsigned i = pick(w, SMALL_PAGES + 2);
	return i < SMALL_PAGES ? i * K4 : THP_BASE + (i - SMALL_PAGES) * K4;
}

static int setup(struct world *w, int p)
{
	int err = s2host_mmap(w->h, p, 0, SMALL_PAGES * K4, RW);
	say(w, err, "mmap P%d 0 %#llx rw", p, (unsigned long long)(SMALL_PAGES * K4));
	if (err)
		return err;
	err = s2host_mmap(w->h, p, THP_BASE, M2, RW | S2HOST_MAP_THP);
	say(w, err, "mmap P%d %#llx %#llx rw thp", p, (unsigned long long)THP_BASE,
	    (unsigned long long)M2);
	return err;
}

static void step(struct world *w)
{
	struct s2host *h = w->h;
	unsigned pi = pick(w, w->nr_procs);
	int p = w->procs[pi];
	uint64_t a = addr(w), v;
	struct s2host_gup_result g;
	int err;

	switch (pick(w, 16)) {
	case 0:
	case 1:
	case 2:
		v = 100 + pick(w, 900);
		err = s2host_write(h, p, a, v);
		say(w, err, "write P%d %#llx %llu", p, (unsigned long long)a, (unsigned long long)v);
		break;
	case 3:
		err = s2host_read(h, p, a, &v);
		say(w, err, "read P%d %#llx", p, (unsigned long long)a);
		break;
	case 4:
		if (w->nr_procs == MAX_PROCS) {
			/* the youngest exits; its references stay with the devices */
			int c = w->procs[--w->nr_procs];
			err = s2host_exit(h, c);
			say(w, err, "exit P%d", c);
		} else {
			err = s2host_fork(h, p);
			if (err >= 0)
				w->procs[w->nr_procs++] = err;
			say(w, err < 0 ? err : 0, "fork P%d P%d", p, err < 0 ? 63 : err);
		}
		break;
	case 5:
	case 6: {
		static const unsigned kinds[] = {
			0,
			S2HOST_FOLL_PIN | S2HOST_FOLL_LONGTERM | S2HOST_FOLL_WRITE,
			S2HOST_FOLL_PIN | S2HOST_FOLL_LONGTERM,
		};
		static const char *const names[] = { "get", "pin-w", "pin-r" };
		unsigned k = pick(w, 3);
		if (w->nr_refs == MAX_REFS)
			break;
		unsigned lab = w->labels++;
		err = s2host_gup(h, p, a, kinds[k], &g);
		if (!err) {
			w->refs[w->nr_refs] = g.id;
			w->ref_label[w->nr_refs++] = lab;
		}
		say(w, err, "gup P%d %#llx %s R%u", p, (unsigned long long)a, names[k], lab);
		break;
	}
	case 7:
		if (!w->nr_refs)
			break;
		{
			unsigned r = pick(w, w->nr_refs);
			if (pick(w, 2)) {
				err = s2host_ref_read(h, w->refs[r], &v);
				say(w, err, "ref-read R%u", w->ref_label[r]);
			} else {
				v = 1000 + pick(w, 900);
				err = s2host_ref_write(h, w->refs[r], v);
				say(w, err, "ref-write R%u %llu", w->ref_label[r], (unsigned long long)v);
			}
		}
		break;
	case 8:
		if (!w->nr_refs)
			break;
		{
			unsigned r = pick(w, w->nr_refs);
			err = s2host_unref(h, w->refs[r]);
			say(w, err, "put R%u", w->ref_label[r]);
			w->nr_refs--;
			w->refs[r] = w->refs[w->nr_refs];
			w->ref_label[r] = w->ref_label[w->nr_refs];
		}
		break;
	case 9:
		if (pick(w, 2)) {
			err = s2host_munmap(h, p, a, K4);
			say(w, err, "munmap P%d %#llx 0x1000", p, (unsigned long long)a);
			err = s2host_mmap(h, p, a, K4, RW | (a >= THP_BASE ? S2HOST_MAP_THP : 0));
			say(w, err, "mmap P%d %#llx 0x1000 rw%s", p, (unsigned long long)a,
			    a >= THP_BASE ? " thp" : "");
		} else {
			err = s2host_madv_dontneed(h, p, a, K4);
			say(w, err, "dontneed P%d %#llx 0x1000", p, (unsigned long long)a);
		}
		break;
	case 10:
		err = s2host_mprotect(h, p, a, K4, S2HOST_PROT_READ);
		say(w, err, "mprotect P%d %#llx 0x1000 r", p, (unsigned long long)a);
		err = s2host_mprotect(h, p, a, K4, RW);
		say(w, err, "mprotect P%d %#llx 0x1000 rw", p, (unsigned long long)a);
		break;
	case 11:
		err = s2host_clear_refs(h, p);
		say(w, err, "clear-refs P%d", p);
		break;
	case 12:
		switch (pick(w, 3)) {
		case 0:
			err = s2host_swap_out(h, p, a);
			say(w, err, "swap-out P%d %#llx", p, (unsigned long long)a);
			break;
		case 1:
			err = s2host_migrate(h, p, a);
			say(w, err, "migrate P%d %#llx", p, (unsigned long long)a);
			break;
		default:
			err = s2host_ksm_merge(h, p, a);
			say(w, err, "ksm P%d %#llx", p, (unsigned long long)a);
			break;
		}
		break;
	case 13:
		if (pick(w, 2)) {
			err = s2host_split_pmd(h, p, THP_BASE);
			say(w, err, "split-pmd P%d %#llx", p, (unsigned long long)THP_BASE);
		} else {
			err = s2host_collapse(h, p, THP_BASE);
			say(w, err, "collapse P%d %#llx", p, (unsigned long long)THP_BASE);
		}
		break;
	case 14:
		err = s2host_lru_add(h, p, a);
		say(w, err, "lru-add P%d %#llx", p, (unsigned long long)a);
		break;
	default:
		err = s2host_lru_drain(h);
		say(w, err, "lru-drain");
		break;
	}
}

/* ---- The memfd world ----------------------------------------------------- */

/*
 * A 4-page memfd F0 mapped at 0 by P0 (registered missing + write-protect:
 * the live-snapshot and postcopy VMM) and by P1 (registered minor: a
 * second process sharing guest RAM); an anonymous uffd-wp page of P0 at
 * ANON (no EVENT_FORK) that host CPUs write through their TLBs, that
 * swaps out and that P0 may fork with. Threads: T0 and T1 run in P0 (T1
 * is a vCPU whose accesses are KVM's GUP), T2 in P1, T3 in the child; a
 * thread whose fault waits for the monitor is blocked until the handler
 * wakes it, then retries the same access. The handler thread H reads a
 * message, and later (anything may run in between) resolves it: COPY for
 * a missing page (sometimes in WP mode), CONTINUE for a minor fault,
 * un-protect for a wp fault, UFFDIO_WAKE when the ioctl finds the page
 * already there. Hole punches (fallocate or MADV_REMOVE) and deferred
 * uffd-wp TLB flushes are split in two steps other operations fall between.
 */
#define MF_PAGES 4
#define ANON (16 * K4)
#define NR_THREADS 4

struct mthread {
	bool blocked;
	unsigned msg;		/* the message it waits on */
	int op;			/* 0 read, 1 write, 2 GUP for write */
	uint64_t addr, value;
};

struct mworld {
	struct world w;
	int fd, p[2], child;
	struct mthread t[NR_THREADS];
	bool holding;		/* the handler has read a message it has not resolved */
	struct s2host_uffd_msg msg;
	int punch;		/* the page whose punch has unmapped but not truncated */
	int deferred;		/* P0's deferred uffd-wp flushes pending */
};

static int thread_mm(const struct mworld *m, unsigned t)
{
	return t < 2 ? m->p[0] : t == 2 ? m->p[1] : m->child;
}

/* One access of thread t; a fault that waits for the monitor blocks it. */
static void access_op(struct mworld *m, unsigned t)
{
	struct s2host *h = m->w.h;
	struct mthread *th = &m->t[t];
	int mm = thread_mm(m, t), err;
	uint64_t v;

	if (th->op == 0 && t < 2) {
		/* P0's threads run on CPUs 1 and 2, through their TLBs */
		err = s2host_cpu_read(h, (int)t + 1, mm, th->addr, &v);
		say(&m->w, err, "cpu-read P%d %#llx C%u", mm, (unsigned long long)th->addr, t + 1);
	} else if (th->op == 1 && t < 2) {
		err = s2host_cpu_write(h, (int)t + 1, mm, th->addr, th->value);
		say(&m->w, err, "cpu-write P%d %#llx %llu C%u", mm, (unsigned long long)th->addr,
		    (unsigned long long)th->value, t + 1);
	} else if (th->op == 0) {
		err = s2host_read(h, mm, th->addr, &v);
		say(&m->w, err, "read P%d %#llx", mm, (unsigned long long)th->addr);
	} else if (th->op == 1) {
		err = s2host_write(h, mm, th->addr, th->value);
		say(&m->w, err, "write P%d %#llx %llu", mm, (unsigned long long)th->addr,
		    (unsigned long long)th->value);
	} else {
		/* a vCPU's stage-2 write fault: GUP(FOLL_WRITE), then the
		 * reference is dropped (stage 2 holds none) */
		struct s2host_gup_result g;
		unsigned lab = m->w.labels++;
		err = s2host_gup(h, mm, th->addr, S2HOST_FOLL_WRITE, &g);
		say(&m->w, err, "gup P%d %#llx get-w R%u", mm, (unsigned long long)th->addr, lab);
		if (!err) {
			int e2 = s2host_unref(h, g.id);
			say(&m->w, e2, "put R%u", lab);
		}
	}
	th->blocked = err == S2_EAGAIN && s2host_uffd_last_msg(h) &&
		      s2host_uffd_waiting(h, s2host_uffd_last_msg(h));
	th->msg = th->blocked ? s2host_uffd_last_msg(h) : 0;
}

/* A thread's step: a new access, or the retry of one the handler woke. */
static void thread_step(struct mworld *m, unsigned t)
{
	struct mthread *th = &m->t[t];

	if (thread_mm(m, t) < 0)
		return;
	if (th->blocked) {
		if (s2host_uffd_waiting(m->w.h, th->msg))
			return;	/* still asleep in handle_userfault() */
		access_op(m, t);
		return;
	}
	/* P0's threads and the child use both parts, P1 only the memfd */
	th->addr = t != 2 && pick(&m->w, 2) ? ANON : pick(&m->w, MF_PAGES) * K4;
	th->op = (int)pick(&m->w, 3);
	if (th->op == 2 && t != 1)
		th->op = 1;	/* only the vCPU goes through GUP */
	th->value = 100 + pick(&m->w, 900);
	access_op(m, t);
}

/* The handler thread: read a message, or resolve the one it holds. */
static void handler_step(struct mworld *m)
{
	struct s2host *h = m->w.h;
	struct s2host_uffd_msg *g = &m->msg;
	int err;

	if (!m->holding) {
		int mm = m->p[pick(&m->w, 2)];
		err = s2host_uffd_read(h, mm, g);
		if (err) {
			say(&m->w, err, "uffd-read P%d", mm);
			return;
		}
		say(&m->w, 0, "uffd-read P%d = %#llx %s", mm, (unsigned long long)g->hva,
		    s2host_uffd_kind_name(g->kind));
		m->holding = true;
		return;
	}
	m->holding = false;
	if (g->kind == S2HOST_UFFD_MISSING && pick(&m->w, 4) == 0) {
		err = s2host_uffdio_zeropage(h, g->mm, g->hva);
		say(&m->w, err, "uffdio-zeropage P%d %#llx", g->mm, (unsigned long long)g->hva);
	} else if (g->kind == S2HOST_UFFD_MISSING) {
		bool wp = g->mm == m->p[0] && pick(&m->w, 3) == 0;
		uint64_t v = 1000 + pick(&m->w, 900);
		err = s2host_uffdio_copy(h, g->mm, g->hva, v, wp);
		say(&m->w, err, "uffdio-copy P%d %#llx %llu%s", g->mm, (unsigned long long)g->hva,
		    (unsigned long long)v, wp ? " wp" : "");
	} else if (g->kind == S2HOST_UFFD_MINOR) {
		err = s2host_uffdio_continue(h, g->mm, g->hva, false);
		say(&m->w, err, "uffdio-continue P%d %#llx", g->mm, (unsigned long long)g->hva);
	} else {
		err = s2host_uffd_wp(h, g->mm, g->hva, K4, false);
		say(&m->w, err, "uffd-wp P%d %#llx 0x1000 off", g->mm, (unsigned long long)g->hva);
	}
	if (err) {
		/* -EEXIST (another fault or the file got there first) or
		 * -EFAULT: the waiters still need waking */
		err = s2host_uffdio_wake(h, g->mm, g->hva);
		say(&m->w, err, "uffdio-wake P%d %#llx", g->mm, (unsigned long long)g->hva);
	}
}

/* The anonymous page: CPU writes through TLBs, deferred uffd-wp changes,
 * transient references, swap-out, fork and exit of the child. */
static void anon_step(struct mworld *m)
{
	struct s2host *h = m->w.h;
	int p = m->p[0], err;

	switch (pick(&m->w, 10)) {
	case 0:
	case 1:
	case 2: {
		int cpu = 1 + (int)pick(&m->w, 2);
		uint64_t v = 100 + pick(&m->w, 900);
		err = s2host_cpu_write(h, cpu, p, ANON, v);
		say(&m->w, err, "cpu-write P%d %#llx %llu C%d", p, (unsigned long long)ANON,
		    (unsigned long long)v, cpu);
		break;
	}
	case 3:
	case 4: {
		bool on = pick(&m->w, 2);
		if (m->deferred < 2 && (on || pick(&m->w, 2))) {
			err = s2host_uffd_wp_deferred(h, p, ANON, K4, on);
			m->deferred += !err;
			say(&m->w, err, "uffd-wp-deferred P%d %#llx 0x1000 %s", p,
			    (unsigned long long)ANON, on ? "on" : "off");
		} else {
			err = s2host_uffd_wp(h, p, ANON, K4, on);
			say(&m->w, err, "uffd-wp P%d %#llx 0x1000 %s", p, (unsigned long long)ANON,
			    on ? "on" : "off");
		}
		break;
	}
	case 5:
		if (!m->deferred)
			break;
		err = s2host_tlb_flush_deferred(h, p);
		m->deferred -= !err;
		say(&m->w, err, "tlb-flush-deferred P%d", p);
		break;
	case 6:
	case 7:
		/* a page just faulted in waits in a CPU's LRU batch */
		err = s2host_lru_add(h, p, ANON);
		say(&m->w, err, "lru-add P%d %#llx", p, (unsigned long long)ANON);
		break;
	case 8:
		if (pick(&m->w, 2)) {
			err = s2host_lru_drain(h);
			say(&m->w, err, "lru-drain");
		} else {
			err = s2host_swap_out(h, p, ANON);
			say(&m->w, err, "swap-out P%d %#llx", p, (unsigned long long)ANON);
		}
		break;
	default:
		if (m->child < 0) {
			int c = s2host_fork(h, p);
			say(&m->w, c < 0 ? c : 0, "fork P%d P%d", p, c < 0 ? 63 : c);
			if (c >= 0) {
				m->child = c;
				m->t[3] = (struct mthread){ 0 };
			}
		} else {
			err = s2host_exit(h, m->child);
			say(&m->w, err, "exit P%d", m->child);
			m->child = -1;
		}
		break;
	}
}

/* The host's side of the memfd: reclaim of a mapping, the monitor's
 * protection, hole punches in two steps. */
static void file_step(struct mworld *m)
{
	struct s2host *h = m->w.h;
	unsigned who = pick(&m->w, 2), page = pick(&m->w, MF_PAGES);
	uint64_t a = page * K4;
	int err;

	switch (pick(&m->w, 3)) {
	case 0:
		err = s2host_madv_dontneed(h, m->p[who], a, K4);
		say(&m->w, err, "dontneed P%d %#llx 0x1000", m->p[who], (unsigned long long)a);
		break;
	case 1: {
		/* the monitor protects the whole file (a live snapshot's start)
		 * and un-protects page by page */
		bool on = pick(&m->w, 2);
		uint64_t start = on ? 0 : a, size = on ? MF_PAGES * K4 : K4;
		err = s2host_uffd_wp(h, m->p[0], start, size, on);
		say(&m->w, err, "uffd-wp P%d %#llx %#llx %s", m->p[0], (unsigned long long)start,
		    (unsigned long long)size, on ? "on" : "off");
		break;
	}
	default:
		if (m->punch >= 0) {
			err = s2host_punch_truncate(h, m->fd, (unsigned)m->punch, 1);
			say(&m->w, err, "punch-truncate F0 %d 1", m->punch);
			m->punch = -1;
		} else if (pick(&m->w, 2)) {
			err = s2host_punch_unmap(h, m->fd, page, 1);
			say(&m->w, err, "punch-unmap F0 %u 1", page);
			m->punch = err ? -1 : (int)page;
		} else {
			/* a balloon's MADV_REMOVE through P0's mapping */
			struct s2host_punch rest;
			err = s2host_madv_remove(h, m->p[0], a, K4, &rest);
			say(&m->w, err, "madv-remove-unmap P%d %#llx 0x1000", m->p[0],
			    (unsigned long long)a);
			m->punch = err ? -1 : (int)rest.off;
		}
		break;
	}
}

int s2host_random_memfd(struct s2host *h, uint64_t seed, unsigned steps,
			void (*log)(void *arg, const char *line), void *arg)
{
	struct mworld m = { .w = { .h = h, .rng = seed, .log = log, .log_arg = arg },
			    .child = -1, .punch = -1 };
	const struct s2host_config *cfg = s2host_config(h);

	m.fd = s2host_memfd_create(h, MF_PAGES);
	m.p[0] = s2host_mm_create(h);
	m.p[1] = s2host_mm_create(h);
	if (m.fd < 0 || m.p[0] < 0 || m.p[1] < 0)
		return m.fd < 0 ? m.fd : m.p[0] < 0 ? m.p[0] : m.p[1];
	say(&m.w, 0, "s2host 1");
	say(&m.w, 0, "policy %s", s2host_policy_name(cfg->policy));
	say(&m.w, 0, "uffd %s %s %s", cfg->uffd_markers ? "markers" : "pre-fix",
	    cfg->uffd_wp_flush ? "wp-flush" : "no-wp-flush",
	    cfg->uffd_fork_fix ? "fork-fix" : "no-fork-fix");
	say(&m.w, 0, "memfd F0 %d", MF_PAGES);
	say(&m.w, 0, "process P%d", m.p[0]);
	say(&m.w, 0, "process P%d", m.p[1]);
	int err = s2host_mmap_memfd(h, m.p[0], 0, MF_PAGES * K4, m.fd, 0,
				    RW | S2HOST_MAP_UFFD_WP | S2HOST_MAP_UFFD_MISSING);
	say(&m.w, err, "mmap-memfd P%d 0 %#llx F0 0 rw uffd uffd-missing", m.p[0],
	    (unsigned long long)(MF_PAGES * K4));
	if (err)
		return err;
	err = s2host_mmap_memfd(h, m.p[1], 0, MF_PAGES * K4, m.fd, 0, RW | S2HOST_MAP_UFFD_MINOR);
	say(&m.w, err, "mmap-memfd P%d 0 %#llx F0 0 rw uffd-minor", m.p[1],
	    (unsigned long long)(MF_PAGES * K4));
	if (err)
		return err;
	err = s2host_mmap(h, m.p[0], ANON, K4, RW | S2HOST_MAP_UFFD_WP);
	say(&m.w, err, "mmap P%d %#llx 0x1000 rw uffd", m.p[0], (unsigned long long)ANON);
	if (err)
		return err;
	/* the monitor populates before protecting, as QEMU's live snapshot
	 * does (ram_block_populate_read): without UFFD_FEATURE_WP_UNPOPULATED
	 * a protect of an empty anonymous PTE protects nothing */
	uint64_t v;
	err = s2host_read(h, m.p[0], ANON, &v);
	say(&m.w, err, "read P%d %#llx", m.p[0], (unsigned long long)ANON);
	if (err)
		return err;
	for (unsigned i = 0; i < steps; i++) {
		unsigned k = pick(&m.w, 10);
		if (k < 4)
			thread_step(&m, pick(&m.w, NR_THREADS));
		else if (k < 6)
			handler_step(&m);
		else if (k < 8)
			file_step(&m);
		else
			anon_step(&m);
	}
	return 0;
}

int s2host_random(struct s2host *h, uint64_t seed, unsigned steps,
		  void (*log)(void *arg, const char *line), void *arg)
{
	struct world w = { .h = h, .rng = seed, .log = log, .log_arg = arg };
	int p = s2host_mm_create(h);

	if (p < 0)
		return p;
	say(&w, 0, "s2host 1");
	say(&w, 0, "policy %s", s2host_policy_name(s2host_config(h)->policy));
	say(&w, 0, "process P%d", p);
	int err = setup(&w, p);
	if (err)
		return err;
	w.procs[w.nr_procs++] = p;
	for (unsigned i = 0; i < steps; i++)
		step(&w);
	return 0;
}

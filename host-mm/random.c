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

/* The memfd world: a 4-page memfd mapped by P0 (uffd-wp registered, its
 * monitor protecting and un-protecting pages) and by P1 (not registered),
 * with hole punches whose two steps other operations can fall between. */
int s2host_random_memfd(struct s2host *h, uint64_t seed, unsigned steps,
			void (*log)(void *arg, const char *line), void *arg)
{
	enum { PAGES = 4 };
	struct world w = { .h = h, .rng = seed, .log = log, .log_arg = arg };
	int fd = s2host_memfd_create(h, PAGES);
	int p[2] = { s2host_mm_create(h), s2host_mm_create(h) };
	int punch = -1;	/* the page whose hole punch has unmapped but not truncated */

	if (fd < 0 || p[0] < 0 || p[1] < 0)
		return fd < 0 ? fd : p[0] < 0 ? p[0] : p[1];
	say(&w, 0, "s2host 1");
	say(&w, 0, "policy %s", s2host_policy_name(s2host_config(h)->policy));
	say(&w, 0, "uffd %s", s2host_config(h)->uffd_markers ? "markers" : "pre-fix");
	say(&w, 0, "memfd F0 %d", PAGES);
	say(&w, 0, "process P%d", p[0]);
	say(&w, 0, "process P%d", p[1]);
	int err = s2host_mmap_memfd(h, p[0], 0, PAGES * K4, fd, 0, RW | S2HOST_MAP_UFFD_WP);
	say(&w, err, "mmap-memfd P%d 0 %#llx F0 0 rw uffd", p[0], (unsigned long long)(PAGES * K4));
	if (!err) {
		err = s2host_mmap_memfd(h, p[1], 0, PAGES * K4, fd, 0, RW);
		say(&w, err, "mmap-memfd P%d 0 %#llx F0 0 rw", p[1], (unsigned long long)(PAGES * K4));
	}
	if (err)
		return err;
	for (unsigned i = 0; i < steps; i++) {
		unsigned who = pick(&w, 2), page = pick(&w, PAGES);
		uint64_t a = page * K4, v;
		switch (pick(&w, 7)) {
		case 0:
		case 1:
			v = 100 + pick(&w, 900);
			err = s2host_write(h, p[who], a, v);
			say(&w, err, "write P%d %#llx %llu", p[who], (unsigned long long)a,
			    (unsigned long long)v);
			break;
		case 2:
			err = s2host_read(h, p[who], a, &v);
			say(&w, err, "read P%d %#llx", p[who], (unsigned long long)a);
			break;
		case 3:
			err = s2host_madv_dontneed(h, p[who], a, K4);
			say(&w, err, "dontneed P%d %#llx 0x1000", p[who], (unsigned long long)a);
			break;
		case 4: {
			bool on = pick(&w, 2);
			err = s2host_uffd_wp(h, p[0], a, K4, on);
			say(&w, err, "uffd-wp P%d %#llx 0x1000 %s", p[0], (unsigned long long)a,
			    on ? "on" : "off");
			break;
		}
		default:
			if (punch < 0) {
				punch = (int)page;
				err = s2host_punch_unmap(h, fd, page, 1);
				say(&w, err, "punch-unmap F0 %u 1", page);
			} else {
				err = s2host_punch_truncate(h, fd, (unsigned)punch, 1);
				say(&w, err, "punch-truncate F0 %d 1", punch);
				punch = -1;
			}
			break;
		}
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

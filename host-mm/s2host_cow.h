/* Functions shared between the files of host-mm/ (s2host__ prefix). */
#ifndef S2HOST_COW_H
#define S2HOST_COW_H

#include "host-mm/s2host_internal.h"

#if defined(__GNUC__)
#define S2HOST__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define S2HOST__PRINTF(a, b)
#endif

void s2host__violate(struct s2host *h, enum s2host_rule rule, int mm, uint64_t vpn,
		     uint64_t pfn, const char *fmt, ...) S2HOST__PRINTF(6, 7);

int s2host__reserve(struct s2host *h, uint64_t pages, unsigned folios);
/* Start an operation (room reserved, ops counted) and end it (mapping
 * references dropped after their invalidations, then the checks). */
int s2host__begin(struct s2host *h, uint64_t pages, unsigned folios);
int s2host__end(struct s2host *h, int ret);
bool s2host__mm_ok(const struct s2host *h, int mm);
int s2host__new_mm(struct s2host *h, int parent);
uint64_t s2host__mapped_pfn(const struct s2host *h, int mm, uint64_t vpn);
void s2host__zap(struct s2host *h, int mm, uint64_t vpn, uint64_t n, enum s2host_mn_event ev);

struct s2host__folio *s2host__folio_of(struct s2host *h, uint64_t pfn);
uint64_t s2host__alloc(struct s2host *h, unsigned order, int owner);
unsigned s2host__total_mapcount(const struct s2host *h, const struct s2host__folio *f);
bool s2host__maybe_dma_pinned(const struct s2host__folio *f);
void s2host__get(struct s2host *h, uint64_t pfn, int n);
void s2host__put(struct s2host *h, uint64_t pfn, int n);
void s2host__put_later(struct s2host *h, uint64_t pfn);
void s2host__flush_puts(struct s2host *h);
void s2host__copy_page(struct s2host *h, uint64_t to, uint64_t from);

void s2host__inval_start(struct s2host *h, int mm, uint64_t vpn, uint64_t n,
			 enum s2host_mn_event ev);
void s2host__inval_end(struct s2host *h, int mm, uint64_t vpn, uint64_t n,
		       enum s2host_mn_event ev);

struct s2host__pte *s2host__pmd(struct s2host *h, int mm, uint64_t vpn);
/* The compound mapcount of f just went down: with it at 0, PageDoubleMap
 * and its offsets go (page_remove_anon_compound_rmap, the split's last). */
void s2host__entire_dropped(struct s2host *h, struct s2host__folio *f);
void s2host__split_pmd_locked(struct s2host *h, int mm, uint64_t vpn);
int s2host__fault(struct s2host *h, int mm, uint64_t vpn, bool write, bool unshare, bool force);

void s2host__zap_pte(struct s2host *h, int mm, uint64_t vpn);
uint8_t s2host__uffd_vma_bits(unsigned flags);
int s2host__range_ok(const struct s2host *h, int mm, uint64_t hva, uint64_t size);
/* A store by (or for) process writer, logged for the checks. */
void s2host__store(struct s2host *h, int writer, uint64_t pfn, uint64_t value);
/* The same for a process's own store at vpn, checked against its monitor. */
void s2host__user_store(struct s2host *h, int mm, uint64_t vpn, uint64_t pfn, uint64_t value,
			const char *how);
/* UFFDIO_WRITEPROTECT's work inside an operation (un-protect wakes). */
int s2host__uffd_wp_range(struct s2host *h, int mm, uint64_t vpn, uint64_t n, bool protect);

/* uffd.c: handle_userfault (queue or join a message; S2_EAGAIN), waking the
 * faults waiting in a range, the TLB flush of a range, and the check of a
 * COW copy against writable TLB entries for the old page */
int s2host__userfault(struct s2host *h, int mm, uint64_t vpn, unsigned kind);
void s2host__uffd_wake(struct s2host *h, int mm, uint64_t vpn, uint64_t n);
void s2host__tlb_flush(struct s2host *h, int mm, uint64_t vpn, uint64_t n);
/* An un-protect cancels the part of a deferred protect it overlaps. */
void s2host__uffd_unpend(struct s2host *h, int mm, uint64_t vpn, uint64_t n);
void s2host__tlb_before_copy(struct s2host *h, int mm, uint64_t vpn, uint64_t old);
/* Run the copy window's hook, if one is set (s2host_set_copy_window). */
void s2host__copy_window(struct s2host *h);
/* shmem.c: a fault in a shared memfd mapping; the cache page at offset off
 * of fd (added, zeroed, if missing); a PTE mapping pfn with flags fl */
int s2host__shmem_fault(struct s2host *h, int mm, uint64_t vpn, bool write);
uint64_t s2host__find_or_add(struct s2host *h, int fd, unsigned off);
void s2host__map_page(struct s2host *h, int mm, uint64_t vpn, uint64_t pfn, unsigned fl);

/* cow.c: the policies' decisions */
void s2host__wp_fault(struct s2host *h, int mm, uint64_t vpn, bool unshare, bool force);
/* true when handled at the PMD; false when the PMD was split (fall back) */
bool s2host__huge_wp_fault(struct s2host *h, int mm, uint64_t vpn, bool unshare, bool force);
void s2host__swap_in(struct s2host *h, int mm, uint64_t vpn, bool write);
void s2host__swap_entry_free(struct s2host *h, unsigned slot);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's grant table: v1 entries in frames of guest RAM, registered
 * with hv by GNTTAB_SETUP; free refs kept as a list threaded through an
 * array. Granting publishes frame and domid before the flags; ending access
 * is a compare-and-swap that fails while hv has the grant mapped.
 */
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "pvio_core_internal.h"

static unsigned int gnttab_frames = 16;
module_param(gnttab_frames, uint, 0444);
MODULE_PARM_DESC(gnttab_frames, "grant table frames (512 refs each)");

#define GREF_END	0xffffffffu
static_assert(GREF_END == U32_MAX, "PVIO_GNTTAB_REFS_INIT's empty chain");

static struct pvio_grant_entry_v1 *gnttab;
static unsigned int gnttab_nr_frames;
static u32 *gnttab_next;		/* free list links, per ref */
static u32 gnttab_free_head = GREF_END;
static unsigned int gnttab_nr_free;
static DEFINE_SPINLOCK(gnttab_lock);

static unsigned int gnttab_nr_refs(void)
{
	return gnttab_nr_frames * PVIO_GNTTAB_ENTRIES_PER_FRAME;
}

static long gnttab_setup_call(unsigned int nr)
{
	u64 *gfn;
	u64 args[6] = { nr, 0 };
	unsigned int i;
	long r;

	gfn = kcalloc(max(nr, 1u), sizeof(*gfn), GFP_KERNEL);
	if (!gfn)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		gfn[i] = pvio_page_to_gfn(virt_to_page((char *)gnttab +
						       i * PAGE_SIZE));
	r = pvio_hypercall(PVIO_HC_GNTTAB_SETUP, args, gfn,
			   nr * sizeof(*gfn));
	kfree(gfn);
	return r;
}

int pvio_gnttab_init(void)
{
	unsigned int nr = clamp(gnttab_frames, 1u,
				(unsigned int)PVIO_GNTTAB_MAX_FRAMES);
	unsigned int i, nr_refs;
	long r;

	if (nr * sizeof(u64) > PVIO_HC_ARG_BYTES)
		return -EINVAL;
	gnttab = alloc_pages_exact(nr * PAGE_SIZE, GFP_KERNEL | __GFP_ZERO);
	if (!gnttab)
		return -ENOMEM;
	gnttab_nr_frames = nr;
	nr_refs = gnttab_nr_refs();
	gnttab_next = kvcalloc(nr_refs, sizeof(*gnttab_next), GFP_KERNEL);
	if (!gnttab_next) {
		free_pages_exact(gnttab, nr * PAGE_SIZE);
		gnttab = NULL;
		return -ENOMEM;
	}
	gnttab_free_head = GREF_END;
	gnttab_nr_free = 0;
	for (i = nr_refs; i-- > PVIO_GNTTAB_RESERVED_ENTRIES; ) {
		gnttab_next[i] = gnttab_free_head;
		gnttab_free_head = i;
		gnttab_nr_free++;
	}
	r = gnttab_setup_call(nr);
	if (r < 0) {
		kvfree(gnttab_next);
		free_pages_exact(gnttab, nr * PAGE_SIZE);
		gnttab = NULL;
		gnttab_next = NULL;
		return (int)r;
	}
	pr_info("pvio_core: grant table of %u frames (%u refs)\n", nr,
		nr_refs);
	return 0;
}

int pvio_gnttab_resume(void)
{
	unsigned int i, n = gnttab_nr_refs();
	long r;

	r = gnttab_setup_call(gnttab_nr_frames);
	/*
	 * 1: this host's hv has our table already, with backends here
	 * mapping from it (connections kept across the move; hv cleared what
	 * the old host left before they did). Else no mapping of ours exists
	 * on this host: reading/writing bits a backend of the old host left
	 * behind would keep refs busy forever.
	 */
	if (r == 1 || r < 0)
		return r < 0 ? (int)r : 0;
	for (i = 0; i < n; i++) {
		u16 f = READ_ONCE(gnttab[i].flags);

		if (f & (GTF_reading | GTF_writing))
			WRITE_ONCE(gnttab[i].flags,
				   f & ~(GTF_reading | GTF_writing));
	}
	return 0;
}

void pvio_gnttab_exit(void)
{
	if (!gnttab)
		return;
	/*
	 * Unregister first. If hv refuses (a grant is still mapped by a
	 * backend), the frames stay owned by hv's view: leak them rather
	 * than hand them back to the page allocator.
	 */
	if (gnttab_setup_call(0) < 0 ||
	    gnttab_nr_free != gnttab_nr_refs() - PVIO_GNTTAB_RESERVED_ENTRIES)
		pr_warn("pvio_core: grant table still in use, frames leaked\n");
	else
		free_pages_exact(gnttab, gnttab_nr_frames * PAGE_SIZE);
	kvfree(gnttab_next);
	gnttab = NULL;
	gnttab_next = NULL;
}

/*
 * A set's refs are linked through gnttab_next like the free list, but
 * belong to their holder: only taking them off the free list and putting
 * them back hold the lock.
 */
int pvio_gnttab_refs_take(struct pvio_gnttab_refs *set, unsigned int n)
{
	unsigned long flags;
	u32 first, last;
	unsigned int i;

	if (!gnttab)
		return -EINVAL;
	if (!n)
		return 0;
	spin_lock_irqsave(&gnttab_lock, flags);
	if (gnttab_nr_free < n) {
		spin_unlock_irqrestore(&gnttab_lock, flags);
		return -ENOSPC;
	}
	first = last = gnttab_free_head;
	for (i = 1; i < n; i++)
		last = gnttab_next[last];
	gnttab_free_head = gnttab_next[last];
	gnttab_nr_free -= n;
	spin_unlock_irqrestore(&gnttab_lock, flags);

	/* the taken run goes in front of what the set holds */
	gnttab_next[last] = set->head;
	if (set->head == GREF_END)
		set->tail = last;
	set->head = first;
	set->n += n;
	return 0;
}
EXPORT_SYMBOL_GPL(pvio_gnttab_refs_take);

int pvio_gnttab_refs_grant(struct pvio_gnttab_refs *set, pvio_domid_t domid,
			   unsigned long gfn, bool readonly)
{
	struct pvio_grant_entry_v1 *e;
	u32 ref = set->head;

	if (!gnttab || gfn > U32_MAX)
		return -EINVAL;
	if (ref == GREF_END)
		return -ENOSPC;
	set->head = gnttab_next[ref];
	if (set->head == GREF_END)
		set->tail = GREF_END;
	set->n--;

	e = &gnttab[ref];
	WRITE_ONCE(e->frame, (u32)gfn);
	WRITE_ONCE(e->domid, domid);
	/* frame and domid are visible before the entry becomes valid */
	virt_wmb();
	WRITE_ONCE(e->flags, GTF_permit_access | (readonly ? GTF_readonly : 0));
	return ref;
}
EXPORT_SYMBOL_GPL(pvio_gnttab_refs_grant);

int pvio_gnttab_refs_end(struct pvio_gnttab_refs *set, pvio_grant_ref_t ref)
{
	struct pvio_grant_entry_v1 *e;
	u16 old, cur;

	if (!gnttab || ref < PVIO_GNTTAB_RESERVED_ENTRIES ||
	    ref >= gnttab_nr_refs())
		return -EINVAL;
	e = &gnttab[ref];
	/* hv sets READING/WRITING with its own CAS while it maps the page */
	cur = READ_ONCE(e->flags);
	do {
		old = cur;
		if ((old & GTF_type_mask) != GTF_permit_access)
			return -EINVAL;	/* not granted: a double end */
		if (old & (GTF_reading | GTF_writing))
			return -EBUSY;
		/* locked even on a kernel patched for one CPU (sync_) */
		cur = sync_cmpxchg(&e->flags, old, 0);
	} while (cur != old);

	gnttab_next[ref] = set->head;
	if (set->head == GREF_END)
		set->tail = ref;
	set->head = ref;
	set->n++;
	return 0;
}
EXPORT_SYMBOL_GPL(pvio_gnttab_refs_end);

void pvio_gnttab_refs_put(struct pvio_gnttab_refs *set)
{
	unsigned long flags;

	if (!set->n)
		return;
	spin_lock_irqsave(&gnttab_lock, flags);
	gnttab_next[set->tail] = gnttab_free_head;
	gnttab_free_head = set->head;
	gnttab_nr_free += set->n;
	spin_unlock_irqrestore(&gnttab_lock, flags);
	set->head = set->tail = GREF_END;
	set->n = 0;
}
EXPORT_SYMBOL_GPL(pvio_gnttab_refs_put);

int pvio_gnttab_grant_access(pvio_domid_t domid, unsigned long gfn,
			     bool readonly)
{
	struct pvio_gnttab_refs set = PVIO_GNTTAB_REFS_INIT;

	/* checked first: a ref taken is always granted */
	if (!gnttab || gfn > U32_MAX)
		return -EINVAL;
	if (pvio_gnttab_refs_take(&set, 1))
		return -ENOSPC;
	return pvio_gnttab_refs_grant(&set, domid, gfn, readonly);
}
EXPORT_SYMBOL_GPL(pvio_gnttab_grant_access);

int pvio_gnttab_end_access(pvio_grant_ref_t ref)
{
	struct pvio_gnttab_refs set = PVIO_GNTTAB_REFS_INIT;
	int ret = pvio_gnttab_refs_end(&set, ref);

	pvio_gnttab_refs_put(&set);
	return ret;
}
EXPORT_SYMBOL_GPL(pvio_gnttab_end_access);

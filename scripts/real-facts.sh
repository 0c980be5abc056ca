#!/usr/bin/env bash
# real-facts.sh CAPTURE [OUT]: the kernel's facts of one real capture (ftrace
# text of shared/capture's kit, plain or .xz), one per line, as
#
#   SECTION KEY VALUE
#
# in the words `s2emu replay --stats` uses, so that the two compare line by
# line (tests/cli/real_traces.sh, scripts/fidelity.sh):
#
#   fault.CLASS.LLEVEL.ACCESS   the guest's stage-2 faults on RAM (inside the
#                               s2emu-memslot markers' slots), from the ESR;
#                               ACCESS as KVM takes it: a fault on a stage-1
#                               walk is a read, or a write if a permission
#                               fault (the walker updating a descriptor)
#   op.NAME, table.alloc, break, make, put, tlbi.KIND, dcache.calls,
#   icache.calls                calls of KVM's functions, from a function
#                               trace (function_graph or function tracer)
#
# Sections are those import-ftrace writes: "pre" until the VMM's start
# marker, then passN and after-passN from its s2emu-phase markers (and
# dirty-logging for a Linux guest's logging thread).
#
# The first line, "# compare: GROUP...", says which key groups the capture
# can tell: fault always; with a function trace also op, table, break,
# make, put, dcache and icache; tlbi only on a VHE host (on nVHE KVM's TLBI
# helpers run at EL2 through an HVC, where ftrace does not see them).
set -eu
in=${1:?usage: real-facts.sh CAPTURE [OUT]}
out=${2:-/dev/stdout}
case $in in
*.xz) cat_in() { xz -dc -- "$in"; } ;;
*) cat_in() { cat -- "$in"; } ;;
esac
cat_in | LC_ALL=C awk '
function hex(s,    v, i, c) {
	sub(/^0x/, "", s); v = 0
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
		if (c < 0) break
		v = v * 16 + c
	}
	return v
}
function bit(v, n) { return int(v / 2 ^ n) % 2 }
function add(key, n) {
	if (!((sec, key) in cnt)) { keys[sec] = keys[sec] " " key }
	cnt[sec, key] += n
	if (!(sec in seen)) { seen[sec] = 1; order[++nsec] = sec }
}
function section(name) {
	if (name == sec) return
	sec = name
	if (!(sec in seen)) { seen[sec] = 1; order[++nsec] = sec }
}
# KVM functions and what s2emu calls them.
BEGIN {
	sec = "pre"; seen["pre"] = 1; order[++nsec] = "pre"
	fn["kvm_pgtable_stage2_map"] = "op.map"
	fn["kvm_pgtable_stage2_relax_perms"] = "op.relax"
	fn["kvm_pgtable_stage2_unmap"] = "op.unmap"
	fn["kvm_pgtable_stage2_wrprotect"] = "op.wrprotect"
	fn["kvm_pgtable_stage2_mkyoung"] = "op.mkyoung"
	fn["kvm_pgtable_stage2_test_clear_young"] = "op.age"
	fn["kvm_pgtable_stage2_split"] = "op.split"
	fn["kvm_pgtable_stage2_destroy"] = "op.destroy"
	fn["stage2_memcache_zalloc_page"] = "table.alloc"
	fn["kvm_pgtable_stage2_free_unlinked"] = "table.free-unlinked"
	fn["stage2_try_break_pte"] = "break"
	fn["stage2_make_pte"] = "make"
	fn["kvm_s2_put_page"] = "put"
	fn["__kvm_tlb_flush_vmid"] = "tlbi.vmid"
	fn["__kvm_tlb_flush_vmid_ipa"] = "tlbi.ipa"
	fn["__kvm_tlb_flush_vmid_ipa_nsh"] = "tlbi.local"
	fn["__kvm_tlb_flush_vmid_range"] = "tlbi.range"
	fn["clean_dcache_guest_page"] = "dcache.calls"
	fn["invalidate_icache_guest_page"] = "icache.calls"
}
{
	line = $0
	if (line ~ /^#/) next
	if (match(line, /s2emu-memslot slot=[0-9]+ gpa=0x[0-9a-f]+ size=0x[0-9a-f]+ [^*]*flags=[a-z]+/)) {
		m = substr(line, RSTART, RLENGTH); split(m, w, /[ =]/)
		s = w[3] + 0
		if (!(s in slot_gpa)) { slot_gpa[s] = hex(w[5]); slot_size[s] = hex(w[7]) }
		slot_ro[s] = (m ~ /flags=ro/)
		next
	}
	if (line ~ /s2emu-host /) { vhe = (line ~ /vhe=1/) }
	if (match(line, /s2emu-phase name=[a-z_]+( [a-z_]+=[0-9a-z]+)?/)) {
		m = substr(line, RSTART, RLENGTH); split(m, w, /[ =]/)
		if (w[3] == "start") section("pass1")
		else if (w[3] == "resume" && w[4] == "next_pass") section("pass" w[5])
		else if (w[3] == "pass_done" && w[4] == "pass") section("after-pass" w[5])
		else if (w[3] == "dirty_log_on" && line ~ /by=thread/) section("dirty-logging")
		next
	}
	if (match(line, /kvm_guest_fault: ipa 0x[0-9a-f]+, hsr 0x[0-9a-f]+/)) {
		m = substr(line, RSTART, RLENGTH); split(m, w, /[ ,]+/)
		ipa = hex(w[3]); esr = hex(w[5])
		ec = int(esr / 2 ^ 26) % 64; fsc = esr % 64
		t = int(fsc / 4); lvl = fsc % 4
		if (fsc == 43) { t = 1; lvl = -1 }	# translation fault, level -1 (FEAT_LPA2)
		cls = t == 1 ? "translation" : t == 2 ? "access-flag" : t == 3 ? "permission" : ""
		if (cls == "") next
		# As KVM takes it (kvm_is_write_fault): a fault on a stage-1 walk
		# is the walker reading a descriptor, or, a permission fault,
		# updating it (hardware AF or dirty state).
		if (bit(esr, 7)) acc = cls == "permission" ? "write" : "read"
		else if (ec == 32 || ec == 33) acc = "exec"
		else acc = bit(esr, 6) ? "write" : "read"
		ram = 0
		for (s in slot_gpa)
			if (ipa >= slot_gpa[s] && ipa < slot_gpa[s] + slot_size[s] && !(slot_ro[s] && acc == "write"))
				ram = 1
		if (ram) add("fault." cls ".L" lvl "." acc, 1)
		next
	}
	# function_graph: "TS | CPU) TASK | DURATION | name() {" or "name();"
	if (match(line, /\| +[A-Za-z_][A-Za-z0-9_.]*\(\)( \{|;)$/)) {
		m = substr(line, RSTART, RLENGTH); sub(/^\| +/, "", m); sub(/\(.*/, "", m)
		traced = 1
		if (m in fn) add(fn[m], 1)
		next
	}
	# function tracer: "task-pid [cpu] flags ts: name <-caller"
	if (match(line, /: [A-Za-z_][A-Za-z0-9_.]* <-[A-Za-z_0-9.]+/)) {
		m = substr(line, RSTART + 2, RLENGTH - 2); sub(/ <-.*/, "", m)
		traced = 1
		if (m in fn) add(fn[m], 1)
	}
}
END {
	printf "# compare: fault%s%s\n", traced ? " op table break make put dcache icache" : "",
	       traced && vhe ? " tlbi" : ""
	for (i = 1; i <= nsec; i++) {
		s = order[i]; n = split(keys[s], k, " ")
		for (j = 1; j <= n; j++) print s, k[j], cnt[s, k[j]]
	}
}' >"$out"

#!/usr/bin/env bash
# bench-compare.sh REV [BENCH...]: is `make bench` worse than at REV?
#
# Builds REV's bench binaries in a temporary git worktree, and this tree's
# (with any uncommitted changes) in build/, then runs each bench (every
# bench/*_bench.c both trees have, or those named: replay, walker, ...)
# old then new, back to back, so that both see the same load; with
# BENCH_REPEAT=N (default 1) N times alternately, each figure the median of
# its N values. Prints, for every figure both print,
#
#   NAME OLD NEW UNIT NEW/OLD VERDICT
#
# VERDICT is "better" or "WORSE" when the figure moved the bad or good way
# by more than the noise margin (BENCH_MARGIN, default 1.3: on the shared
# machine two runs of one binary differ by up to ±30 %), else "same". More
# is better for rates (unit ending in /s) and for the ratios that compare
# us with another tool (guest.ratio_*, effect.ratio_to_casemate),
# fuzz.bugs_found and fuzz.exhaustive_bg1_complete; counts that describe
# the work rather than its speed (schedules, classes, violations, faults,
# ops) are "differs" when they differ; for all others (ns, s, MiB, bytes,
# the other ratios) less is better. Figures only one tree prints say "old
# only" or "new only". Exit status 0, or 2 when REV or a build fails; a
# bench that fails is reported on a "#" line.
set -u
usage() { echo "usage: scripts/bench-compare.sh REV [BENCH...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
rev=$1; shift
top=$(git rev-parse --show-toplevel) || exit 2
cd "$top" || exit 2
old_sha=$(git rev-parse --verify -q "$rev^{commit}") ||
    { echo "bench-compare: '$rev' is not a commit" >&2; exit 2; }
margin=${BENCH_MARGIN:-1.3}
repeat=${BENCH_REPEAT:-1}
case $repeat in ''|*[!0-9]*|0) echo "bench-compare: BENCH_REPEAT must be a number >= 1" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
cleanup() {
    git worktree remove --force "$tmp/old" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

git worktree add --detach "$tmp/old" "$old_sha" >/dev/null 2>&1 ||
    { echo "bench-compare: cannot check out $rev" >&2; exit 2; }

# The benches: the ones named, else every one both trees have.
names=()
if [ $# -gt 0 ]; then
    for b in "$@"; do names+=("${b%_bench}"); done
else
    for f in bench/*_bench.c; do
        b=$(basename "$f" _bench.c)
        [ -e "$tmp/old/bench/${b}_bench.c" ] && names+=("$b")
    done
fi
for b in "${names[@]}"; do
    [ -e "bench/${b}_bench.c" ] || { echo "bench-compare: no bench/${b}_bench.c here" >&2; exit 2; }
done

# build DIR: the command, the guests and the bench binaries.
build() {
    local targets=() b
    for b in "${names[@]}"; do
        [ -e "$1/bench/${b}_bench.c" ] && targets+=("build/bench/${b}_bench")
    done
    make -C "$1" -j2 all "${targets[@]}" >"$tmp/build.log" 2>&1 ||
        { tail -20 "$tmp/build.log" >&2; echo "bench-compare: the build of $1 failed" >&2; exit 2; }
}
dirty=$(git diff --quiet HEAD -- . 2>/dev/null || echo ' with uncommitted changes')
echo "# bench-compare: old $rev ($(git log -1 --format=%h "$old_sha")), new $(git log -1 --format=%h HEAD)$dirty; $repeat run(s) each, margin $margin"
build "$tmp/old"
build "$top"

# run DIR BENCH OUT: append the bench's NAME VALUE UNIT lines to OUT.
run() {
    [ -x "$1/build/bench/${2}_bench" ] || return 0
    if ! (cd "$1" && "build/bench/${2}_bench") >"$tmp/out" 2>"$tmp/err"; then
        echo "# ${2}_bench failed in $1: $(tail -1 "$tmp/err")"
    fi
    awk 'NF == 3 && $1 !~ /^#/ && $2 ~ /^[-+0-9.eE]+$/' "$tmp/out" >>"$3"
}

# median FILE: each figure's median, NAME VALUE UNIT, in first-seen order.
median() {
    awk '{ if (!($1 in n)) order[++k] = $1; v[$1, ++n[$1]] = $2; u[$1] = $3 }
         END {
             for (i = 1; i <= k; i++) {
                 f = order[i]; m = n[f]
                 for (a = 1; a <= m; a++) s[a] = v[f, a] + 0
                 for (a = 2; a <= m; a++) for (b = a; b > 1 && s[b-1] > s[b]; b--) { t = s[b]; s[b] = s[b-1]; s[b-1] = t }
                 med = m % 2 ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
                 if (m == 1) print f, v[f, 1], u[f]
                 else printf "%s %.10g %s\n", f, med, u[f]
             }
         }' "$1"
}

printf '# load average before: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %14s %14s %-12s %7s %s\n' "# figure" old new unit new/old verdict
for b in "${names[@]}"; do
    : >"$tmp/old.all"; : >"$tmp/new.all"
    for ((i = 0; i < repeat; i++)); do
        run "$tmp/old" "$b" "$tmp/old.all"
        run "$top" "$b" "$tmp/new.all"
    done
    median "$tmp/old.all" >"$tmp/old.out"
    median "$tmp/new.all" >"$tmp/new.out"
    awk -v margin="$margin" -v oldf="$tmp/old.out" '
        function row(name, o, v, u, r, verdict) {
            printf "%-44s %14s %14s %-12s %7s %s\n", name, o, v, u, r, verdict
        }
        # 1: more is better, -1: less is better, 0: not a speed
        function direction(name, unit) {
            if (unit ~ /\/s$/ || name ~ /^guest\.ratio_|ratio_to_casemate$|bugs_found$|_complete$/)
                return 1
            if (unit ~ /^(schedules|violations|faults|ops|bugs|bool)$/)
                return 0
            return -1
        }
        BEGIN {
            while ((getline line < oldf) > 0) {
                split(line, w, " "); old[w[1]] = w[2]; unit[w[1]] = w[3]; order[++n] = w[1]
            }
        }
        {
            if (!($1 in old)) { row($1, "-", $2, $3, "-", "new only"); next }
            seen[$1] = 1
            o = old[$1]; v = $2; d = direction($1, $3)
            verdict = "same"
            if (o + 0 == 0) {
                r = "-"
                if (v + 0 != 0) verdict = d ? (d > 0 ? "better" : "WORSE") : "differs"
            } else {
                r = v / o
                if (d == 0) { if (v != o) verdict = "differs" }
                else if (d > 0 ? r >= margin : r <= 1 / margin) verdict = "better"
                else if (d > 0 ? r <= 1 / margin : r >= margin) verdict = "WORSE"
                r = sprintf("%.2f", r)
            }
            row($1, o, v, $3, r, verdict)
        }
        END {
            for (i = 1; i <= n; i++)
                if (!(order[i] in seen)) row(order[i], old[order[i]], "-", unit[order[i]], "-", "old only")
        }
    ' "$tmp/new.out"
done
printf '# load average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"

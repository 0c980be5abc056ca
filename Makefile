# s2emu: plain Makefile. Every module is a directory of .c files that goes
# into its own static archive, build/lib/libMODULE.a; layers.txt says which
# modules each module may use, and so which archives a binary links.
# tests/<name>_test.c and bench/<name>_bench.c are one binary each, linked
# with the archives of the modules they include (and what those may use)
# and their own support files (tests/x.c when they include tests/x.h).
# New files, and new module directories listed in layers.txt, need no edit
# here. build/libs2emu.a holds every module, for `make install`.
#
#   make            build/s2emu, build/libs2emu.a and the example guests
#                   (build/guests/*.bin, from guests/*.S)
#   make test       the layering check (scripts/layers.sh), then build and
#                   run every tests/*_test.c
#   make check      the same tests under ASan + UBSan (in build/san)
#   make bench      print every figure as NAME VALUE UNIT
#   make bugs       hunt the bug table from generated scenarios; docs/bugs.md
#   make fidelity   real captures (traces/real/) against the kernel's counts
#   make install    PREFIX=/usr/local DESTDIR=

VERSION   := 0.1.0
CC        ?= cc
BUILD     ?= build
PREFIX    ?= /usr/local
OPT       ?= -O2 -g
SAN       ?=
PKGS      := cmocka

CFLAGS_BASE := -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
               -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
               -I. -DS2EMU_VERSION='"$(VERSION)"'
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
ALL_CFLAGS := $(CFLAGS_BASE) $(OPT) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(SANFLAGS) $(LDFLAGS)

# The modules present, bottom up, and for each binary NAME the modules it
# links (USES_NAME, top down), their pkg-config packages (PKGS_NAME) and its
# support sources (SUPPORT_NAME): generated from layers.txt and the includes.
ifeq ($(filter clean deps,$(MAKECMDGOALS)),)
-include $(BUILD)/layers.mk
endif
MODULES   := $(LAYER_MODULES)
LIB_SRCS  := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_SRCS  := $(wildcard cli/*.c)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(wildcard tests/*_test.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(wildcard bench/*_bench.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

LIB       := $(BUILD)/libs2emu.a
BIN       := $(BUILD)/s2emu

# guest/ runs AArch64 code under Unicorn and disassembles with Capstone
# (scripts/install-deps.sh installs both from Debian); layers.txt names the
# packages each module links.
EMU_CFLAGS := $(shell pkg-config --cflags unicorn capstone 2>/dev/null)
LIBS      := -lpthread -lm

# The archives and libraries a binary NAME links.
libs_of = $(foreach m,$(USES_$(1)),$(BUILD)/lib/lib$(m).a)
pkglibs_of = $(if $(PKGS_$(1)),$(shell pkg-config --libs $(PKGS_$(1)) 2>/dev/null || echo $(addprefix -l,$(PKGS_$(1)))))
support_of = $(SUPPORT_$(1):%.c=$(BUILD)/obj/%.o)

# Example guests, assembled with the Debian cross binutils. They are plain
# binaries, the same for every BUILD, so they always go to build/guests.
CROSS     ?= aarch64-linux-gnu-
GUEST_SRCS := $(wildcard guests/*.S)
GUEST_BINS := $(GUEST_SRCS:guests/%.S=build/guests/%.bin)

CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

Q := @
ifeq ($(V),1)
Q :=
endif

.PHONY: all test check clang valgrind bench bugs clean install deps layers fidelity
.SECONDARY:
.SECONDEXPANSION:
all: $(BIN) $(GUEST_BINS)

$(BUILD)/layers.mk: layers.txt scripts/layers.sh $(wildcard tests/*.[ch] bench/*.[ch])
	@mkdir -p $(dir $@)
	$(Q)scripts/layers.sh mk > $@.tmp && mv $@.tmp $@

# One archive per module.
define module_archive
$(BUILD)/lib/lib$(1).a: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c))
	@mkdir -p $$(dir $$@)
	@echo "  AR      $$@"
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_archive,$(m))))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) $(EMU_CFLAGS) -MMD -MP -c $< -o $@

build/guests/%.bin: guests/%.S guests/guest.ld $(wildcard guests/*.inc)
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CROSS)as -I guests -o build/guests/$*.o $<
	$(Q)$(CROSS)ld --no-warn-rwx-segments -T guests/guest.ld -o build/guests/$*.elf build/guests/$*.o
	$(Q)$(CROSS)objcopy -O binary build/guests/$*.elf $@

$(LIB): $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJS) $(call libs_of,s2emu) $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(call libs_of,s2emu) $(call pkglibs_of,s2emu) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $$(call support_of,$$*) $$(call libs_of,$$*)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(call support_of,$*) $(call libs_of,$*) $(CMOCKA_LIBS) $(call pkglibs_of,$*) $(LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $$(call support_of,$$*) $$(call libs_of,$$*)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(call support_of,$*) $(call libs_of,$*) $(call pkglibs_of,$*) $(LIBS)

# The layering check: no module includes a header of a module layers.txt
# does not let it use.
layers:
	$(Q)scripts/layers.sh check

test: layers $(BIN) $(TEST_BINS) $(GUEST_BINS)
	$(Q)scripts/run-tests.sh $(BIN) $(TEST_BINS)

check: clang
	$(Q)$(MAKE) --no-print-directory BUILD=build/san SAN=1 OPT='-O1 -g' test

# Everything (library, command, tests, benches) built with clang, whose
# warnings are errors as gcc's are: the code stays clean with both.
clang:
	$(Q)$(MAKE) --no-print-directory CC=clang BUILD=build/clang all $(patsubst $(BUILD)/%,build/clang/%,$(TEST_BINS) $(BENCH_BINS))

# Every cmocka test under valgrind's memcheck: an invalid read or write, a
# use of an uninitialised value or a definite leak fails the test.
# --smc-check=all-non-file: Unicorn rewrites the code it generates, which
# valgrind only notices on the stack by default; without it guest_test's
# guests run stale translations and take faults they do not take natively.
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --smc-check=all-non-file \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite
valgrind: $(BIN) $(TEST_BINS) $(GUEST_BINS)
	$(Q)RUNNER='$(VALGRIND)' NO_CLI=1 scripts/run-tests.sh $(BIN) $(TEST_BINS)

# Every real capture in traces/real/ against the kernel's counts; rewrites
# the table of docs/fidelity.md.
fidelity: $(BIN)
	$(Q)S2EMU=$(BIN) scripts/fidelity.sh --doc docs/fidelity.md \
		$(patsubst traces/real/%.trace.xz,%,$(wildcard traces/real/*.trace.xz))

bench: $(BENCH_BINS) $(GUEST_BINS)
	$(Q)for b in $(BENCH_BINS); do $$b || exit 1; done

# The bug table: hunt every real Linux bug of fuzz/bugs.c from generated
# scenarios, regenerate docs/bugs.md and traces/corpus/bug-*.s2t.
bugs: $(BIN)
	$(Q)scripts/bugs.sh $(BIN)

# The binary, libs2emu.a with its headers and libs2emu.pc, the man page, the
# example guests and the corpus: scripts/install.sh says where.
install: $(BIN) $(LIB) $(GUEST_BINS) $(BUILD)/s2emu.1
	$(Q)DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' BUILD='$(BUILD)' VERSION='$(VERSION)' \
	    MODULES='$(MODULES)' PKGS='$(PKGS_s2emu)' scripts/install.sh

# s2emu(1) from docs/s2emu.md (go-md2man, from scripts/install-deps.sh).
$(BUILD)/s2emu.1: docs/s2emu.md scripts/man.sh
	$(Q)scripts/man.sh $(VERSION) < $< > $@.tmp && mv $@.tmp $@

deps:
	scripts/install-deps.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

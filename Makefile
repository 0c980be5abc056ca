# s2emu: plain Makefile. Every module is a directory of .c files that goes
# into one static library; tests/<name>_test.c and bench/<name>_bench.c are
# one binary each, linked against it. New files need no edit here.
#
#   make            build/s2emu, build/libs2emu.a and the example guests
#                   (build/guests/*.bin, from guests/*.S)
#   make test       build and run every tests/*_test.c
#   make check      the same tests under ASan + UBSan (in build/san)
#   make bench      print every figure as NAME VALUE UNIT
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

MODULES   := common walker cache-model hyp-model traces fuzz guest
LIB_SRCS  := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_SRCS  := $(wildcard cli/*.c)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(wildcard tests/*_test.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(filter-out $(TEST_SRCS),$(wildcard tests/*.c))
TEST_SUPPORT_OBJS := $(TEST_SUPPORT:%.c=$(BUILD)/obj/%.o)
BENCH_SRCS := $(wildcard bench/*_bench.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
BENCH_SUPPORT := $(filter-out $(BENCH_SRCS),$(wildcard bench/*.c))
BENCH_SUPPORT_OBJS := $(BENCH_SUPPORT:%.c=$(BUILD)/obj/%.o)

LIB       := $(BUILD)/libs2emu.a
BIN       := $(BUILD)/s2emu

# guest/ runs AArch64 code under Unicorn and disassembles with Capstone
# (scripts/install-deps.sh installs both from Debian).
EMU_CFLAGS := $(shell pkg-config --cflags unicorn capstone 2>/dev/null)
EMU_LIBS   := $(shell pkg-config --libs unicorn capstone 2>/dev/null || echo -lunicorn -lcapstone)
LIBS      := $(EMU_LIBS) -lpthread -lm

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

.PHONY: all test check bench clean install deps
.SECONDARY:
all: $(BIN) $(GUEST_BINS)

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

$(BIN): $(CLI_OBJS) $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_SUPPORT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJS) $(LIB) $(CMOCKA_LIBS) $(LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BENCH_SUPPORT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(BENCH_SUPPORT_OBJS) $(LIB) $(LIBS)

test: $(BIN) $(TEST_BINS) $(GUEST_BINS)
	$(Q)scripts/run-tests.sh $(BIN) $(TEST_BINS)

check:
	$(Q)$(MAKE) --no-print-directory BUILD=build/san SAN=1 OPT='-O1 -g' test

bench: $(BENCH_BINS) $(GUEST_BINS)
	$(Q)for b in $(BENCH_BINS); do $$b || exit 1; done

install: $(BIN) $(LIB)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/s2emu
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libs2emu.a

deps:
	scripts/install-deps.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

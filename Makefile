# ernie: make | make check | make demo | make bench | make debug check | make install
include config.mk

BUILD = build
ifneq ($(filter debug,$(MAKECMDGOALS)),)
BUILD = build/debug
CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# pkg-config is asked when this Makefile is read, so targets that install the
# packages first (check, demo, bench) build through a second make that reads
# it again: one `make demo` works on a machine that had none of them.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = $(CPPFLAGS) $(PKG_CFLAGS) -Ilib -Icmd $(CFLAGS) -MMD -MP
PKG_GUARD = @test -n "$(PKG_LIBS)" || { echo "make: pkg-config finds no $(PKGS): run 'make deps'" >&2; exit 1; }

# lib/LAYER/*.c make libernie.a; cmd/ernie-*.c are the programs, and the other
# cmd/*.c are the helpers only the programs use (options, messages, exit codes).
LIB_SRC := $(wildcard lib/*/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMDS := $(basename $(notdir $(wildcard cmd/ernie-*.c)))
BINS := $(CMDS:%=$(BUILD)/%)
CLI_SRC := $(filter-out cmd/ernie-%.c,$(wildcard cmd/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
MAN1 := $(wildcard man/*.1)
MAN57 := $(wildcard man/*.5 man/*.7)

all: $(BINS)

debug: all

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libernie.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/ernie-%: $(BUILD)/cmd/ernie-%.o $(CLI_OBJ) $(BUILD)/libernie.a
	$(PKG_GUARD)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/tests/unit/run: $(UNIT_OBJ) $(BUILD)/libernie.a
	$(PKG_GUARD)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# Install the Debian packages the build and the tests need, when missing.
deps:
	@sh tests/deps.sh $(DEPS_BUILD) $(DEPS_CHECK)

check: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD) $(if $(filter debug,$(MAKECMDGOALS)),debug) $(BINS) $(BUILD)/tests/unit/run
	@BIN=$(BUILD) sh tests/run

bench: deps
	@$(MAKE) --no-print-directory all
	@BIN=$(BUILD) sh bench/run

demo: deps
	@$(MAKE) --no-print-directory all
	@BIN=$(BUILD) sh examples/demo.sh

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(MANPREFIX)/man5 $(DESTDIR)$(MANPREFIX)/man7
	cp -f $(BINS) $(DESTDIR)$(PREFIX)/bin/
	for m in $(MAN1) $(MAN57); do \
		s=$${m##*.}; sed "s/VERSION/$(VERSION)/g" $$m > $(DESTDIR)$(MANPREFIX)/man$$s/$${m#man/}; done
	mkdir -p $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	cp -f completions/bash/* $(DESTDIR)$(PREFIX)/share/bash-completion/completions/
	cp -f completions/zsh/* $(DESTDIR)$(PREFIX)/share/zsh/site-functions/
	cp -f completions/fish/* $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/

uninstall:
	for c in $(CMDS); do rm -f $(DESTDIR)$(PREFIX)/bin/$$c \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$c \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$$c \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$c.fish; done
	for m in $(MAN1) $(MAN57); do s=$${m##*.}; rm -f $(DESTDIR)$(MANPREFIX)/man$$s/$${m#man/}; done

clean:
	rm -rf build

.PHONY: all debug deps check bench demo install uninstall clean
.SECONDARY:

-include $(shell find build -name '*.d' 2>/dev/null)

# libFuzzer targets (clang): one per parser, tests/fuzz/fuzz_NAME.c, each with
# a committed seed corpus tests/fuzz/corpus/NAME (regress-* files there are
# past crashes) and an optional dictionary tests/fuzz/NAME.dict.
#   make fuzz                               every target FUZZ_SECONDS (30: CI)
#   make fuzz FUZZ=tok FUZZ_SECONDS=600     one target, longer
#   make fuzz-regress                       replay the corpora only (seconds)
# New inputs go to build/fuzz/corpus/NAME, crashes to build/fuzz/NAME-crash-*,
# the log to build/fuzz/NAME.log. The library is built once for all targets
# (without -DFUZZING: the harnesses live in tests/fuzz, not in lib).
FUZZ_SECONDS = 30
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ = $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_CFLAGS = $(CPPFLAGS) $(PKG_CFLAGS) -Ilib -std=c11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_RUN = -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

build/fuzz/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

build/fuzz/libernie.a: $(FUZZ_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzzfile.h tests/fuzz/fuzztok.h build/fuzz/libernie.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libernie.a $(PKG_LIBS) -lm -pthread

# One line per target: executions, coverage, and the crash if there is one;
# every target runs even when an earlier one fails.
fuzz: $(FUZZ:%=build/fuzz/fuzz_%)
	@fail=0; for n in $(FUZZ); do mkdir -p build/fuzz/corpus/$$n; \
		dict=; [ -f tests/fuzz/$$n.dict ] && dict=-dict=tests/fuzz/$$n.dict; \
		if build/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) $(FUZZ_RUN) $$dict \
			-artifact_prefix=build/fuzz/$$n- build/fuzz/corpus/$$n tests/fuzz/corpus/$$n \
			>build/fuzz/$$n.log 2>&1; then \
			echo "fuzz $$n: $$(grep -ao 'number_of_executed_units: *[0-9]*' build/fuzz/$$n.log \
				| grep -o '[0-9]*$$') runs, $$(grep -ao 'cov: [0-9]*' build/fuzz/$$n.log | tail -1)"; \
		else fail=1; echo "FAIL fuzz $$n: see build/fuzz/$$n.log"; \
			grep -E -m1 -A12 'ERROR|SUMMARY|deadly signal' build/fuzz/$$n.log; fi; \
	done; exit $$fail

fuzz-regress: $(FUZZ:%=build/fuzz/fuzz_%)
	@for n in $(FUZZ); do build/fuzz/fuzz_$$n -runs=0 $(FUZZ_RUN) tests/fuzz/corpus/$$n \
		>build/fuzz/$$n.regress.log 2>&1 || { echo "FAIL fuzz-regress $$n"; \
		grep -E -m1 -A12 'ERROR|SUMMARY' build/fuzz/$$n.regress.log; exit 1; }; \
		echo "fuzz-regress $$n: ok"; done

.PHONY: fuzz fuzz-regress

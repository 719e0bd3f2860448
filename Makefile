# ernie: make | make check | make demo | make bench | make debug check | make install
include config.mk

BUILD = build
ifneq ($(filter debug,$(MAKECMDGOALS)),)
BUILD = build/debug
CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = $(CPPFLAGS) $(PKG_CFLAGS) -Ilib $(CFLAGS) -MMD -MP

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMDS := $(basename $(notdir $(wildcard cmd/*.c)))
BINS := $(CMDS:%=$(BUILD)/%)
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

$(BUILD)/ernie-%: $(BUILD)/cmd/ernie-%.o $(BUILD)/libernie.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/tests/unit/run: $(UNIT_OBJ) $(BUILD)/libernie.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# Install the Debian packages the build and the tests need, when missing.
deps:
	@sh tests/deps.sh $(DEPS_BUILD) $(DEPS_CHECK)

check: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD) $(if $(filter debug,$(MAKECMDGOALS)),debug) $(BINS) $(BUILD)/tests/unit/run
	@BIN=$(BUILD) sh tests/run

bench: deps all
	@BIN=$(BUILD) sh bench/run

demo: deps all
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

# libFuzzer targets (clang): one per parser, each run FUZZ_SECONDS on its
# committed seed corpus (tests/fuzz/corpus/NAME); new finds go to build/fuzz.
FUZZ_SECONDS = 30
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -DFUZZING

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC)
	@mkdir -p $(@D)
	clang $(CPPFLAGS) $(PKG_CFLAGS) -Ilib -std=c11 $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(PKG_LIBS) -lm -pthread

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$${f#build/fuzz/fuzz_}; mkdir -p build/fuzz/corpus/$$n; \
		echo "== fuzz $$n ($(FUZZ_SECONDS) s)"; \
		if ! $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build/fuzz/$$n- \
			build/fuzz/corpus/$$n tests/fuzz/corpus/$$n >build/fuzz/$$n.log 2>&1; then \
			grep -E -A20 'ERROR|SUMMARY' build/fuzz/$$n.log; exit 1; fi; \
		grep -E 'stat::number_of_executed_units|DONE' build/fuzz/$$n.log; done

.PHONY: fuzz

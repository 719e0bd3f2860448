# ernie version and install locations (suckless style: edit here, not in Makefile)
VERSION = 0.1.0

PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man
DESTDIR =

CC = cc
PKGS = openblas yaml-0.1 libutf8proc libcurl
# C11 with POSIX (mmap, getline, clock_gettime). No -march=native: the build
# runs on any x86-64 or aarch64; SIMD kernels are chosen at run time.
CPPFLAGS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DVERSION=\"$(VERSION)\"
CFLAGS = -std=c11 -O2 -g -Wall -Wextra -Wswitch-enum -pthread
LDFLAGS = -pthread
LDLIBS = -lm

# Debian packages: what the build needs, and what the tests compare against.
DEPS_BUILD = gcc make pkg-config libyaml-dev libutf8proc-dev libopenblas-dev libcurl4-openssl-dev
DEPS_CHECK = python3 python3-sentencepiece sentencepiece python3-jinja2 python3-numpy mandoc

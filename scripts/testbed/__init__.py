# SPDX-License-Identifier: GPL-2.0
"""The testbed, one stage a module, as tools/testing/kunit is laid out.

  paths     where the project, its build/ and the cache are
  axes      kernels, handlers (hyp/glue/*/variants), profiles, CPUs, modes
  matrix    scripts/matrix.tsv: the rows make check boots, and each one's
            expected verdict
  ktap      the guest's KTAP, parsed by the kernel tree's own kunit_parser
  verdict   one boot's verdict and its judgement against its row: the one
            function make qemu, make check, the mutants and the series use
  results   build/results.json: this run's rows and steps, with provenance
  check     make check: every test, one summary

`python3 -m testbed --help` (with scripts/ on PYTHONPATH) lists the
commands the shell scripts call.
"""

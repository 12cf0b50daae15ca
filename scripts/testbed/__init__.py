# SPDX-License-Identifier: GPL-2.0
"""The testbed, one stage a module, as tools/testing/kunit is laid out.

  paths     where the project, its build/ and the cache are
  axes      kernels, handlers (hyp/glue/*/variants), profiles, CPUs, modes:
            defined once, checked for the shell scripts (`validate`)
  qemu_configs  each CPU's and mode's command line, proof, machine, as data
  matrix    scripts/matrix.tsv: the rows make check boots, and each one's
            expected verdict
  ktap      the guest's KTAP, parsed by the kernel tree's own kunit_parser
  verdict   one boot's verdict and its judgement against its row: the one
            function make qemu, make check, the mutants and the series use
  results   build/results.json: this run's rows and steps, with provenance
  check     make check: every test, one summary
  hyp_path  a path through kvm_nvhe.o, counted (a64: the AArch64 it models)
  hyp_report    make hyp-report: Rust against C, bytes and path lengths
  bench_report  make bench: the measurements as a table, JSON, and RST
                (bench_rst)

`python3 -m testbed --help` (with scripts/ on PYTHONPATH) lists the
commands the shell scripts call.
"""

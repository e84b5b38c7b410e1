#!/usr/bin/env bash
# Regenerates the manual pages in docs/man/ from the binaries' own command-line
# definitions (clap_mangen, through their hidden `man DIR` subcommand). The test
# testkit/tests/shell.rs regenerates them the same way and fails when docs/man/ differs,
# so run this after changing a flag or its help.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -q -p podmem-collector -p podmem-analyzer
rm -f docs/man/*.1
mkdir -p docs/man
target/debug/podmem-collector man docs/man
target/debug/podmem-analyzer man docs/man
ls docs/man/*.1

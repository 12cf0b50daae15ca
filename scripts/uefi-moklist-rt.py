#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""uefi-moklist-rt.py VARS_JSON RT_JSON: from a varstore as virt-fw-vars
--output-json writes it, the MokList shim keeps (boot services only),
copied to the runtime variable MokListRT shim would make of it, as a
document for virt-fw-vars --set-json (scripts/debian-boot.sh)."""

import json
import sys

NV_BS_RT = 7


def main(vars_json, rt_json):
    with open(vars_json) as f:
        store = json.load(f)
    mok = next((v for v in store["variables"] if v["name"] == "MokList"), None)
    if mok is None:
        sys.exit(f"uefi-moklist-rt: {vars_json} holds no MokList (virt-fw-vars --add-mok?)")
    with open(rt_json, "w") as f:
        json.dump({"version": 2, "variables": [dict(mok, name="MokListRT", attr=NV_BS_RT)]}, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split(":")[0])
    main(*sys.argv[1:])

"""Regenerate the reference campaign's commune list and SAMPLE community teams.

communes.csv: the commune-level rows of ../../../shared/data/langson_regions.csv (official
GSO codes, December 2024 state; see the README here for how it differs from 2022).

teams.csv: SAMPLE data.  The real team rosters are not public; this makes one team per
commune with 3–6 members, about 95 % of them trained, names drawn from common
Vietnamese, Tày and Nùng family and given names, no phone numbers.  Deterministic
(fixed seed), so the file only changes when this script does.

    python examples/langson_2022/make_sample_data.py [path/to/langson_regions.csv]
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "data" / "langson_regions.csv"

FAMILY = ["Hoàng", "Nông", "Lương", "Vi", "Lý", "Nguyễn", "Lăng", "Triệu", "Hà", "Chu", "Lộc", "Mông"]
GIVEN = ["Văn An", "Thị Bích", "Văn Cường", "Thị Dung", "Văn Đức", "Thị Hoa", "Văn Hùng",
         "Thị Lan", "Văn Minh", "Thị Nga", "Văn Phúc", "Thị Quyên", "Văn Sơn", "Thị Thu", "Văn Vinh"]


def main(source: Path = SHARED) -> None:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["level"] in {"ward", "commune", "town"}]
    with (HERE / "communes.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code", "name", "level", "parent_code"])
        for r in rows:
            writer.writerow([r["code"], r["name"], r["level"], r["parent_code"]])

    rng = random.Random(2022)
    with (HERE / "teams.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["team_code", "team_name", "commune_code", "member_name", "member_phone", "trained"])
        for r in rows:
            team = f"T{r['code']}"
            for _ in range(rng.randint(3, 6)):
                name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
                trained = "yes" if rng.random() < 0.95 else "no"
                writer.writerow([team, f"Tổ CNSCĐ {r['name']}", r["code"], name, "", trained])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED)

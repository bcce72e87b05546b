"""The sketch catalogue (tiểu phẩm): short radio pieces, at most 60 s by the plan.

When a sketch has an audio file (WAV, MP3, …) its length is measured from the file
with ``mutagen``, not taken from the CSV, and a sketch over the limit is refused with
the measured length.  Due dates are kept so a sketch delivered late (or not at all) is
reported.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
import mutagen
import pendulum

from ..errors import DataError
from ._csv import parse_date, raise_problems, read_rows
from .stations import parse_language

__all__ = ["DueState", "DueStatus", "Sketch", "SketchCatalogue", "measure_audio"]

SKETCH_COLUMNS = ("id", "title", "topic", "language", "producer", "due")
SKETCH_OPTIONAL = ("duration_seconds", "delivered", "audio")


def measure_audio(path: Path) -> float:
    """The length of an audio file in seconds, read by mutagen; ``ValueError`` if unreadable."""
    if not path.is_file():
        raise ValueError(f"audio file {str(path)!r} not found")
    try:
        audio = mutagen.File(path)  # type: ignore[attr-defined]
    except mutagen.MutagenError as exc:
        raise ValueError(f"cannot read audio file {path.name}: {exc}") from None
    if audio is None or getattr(audio.info, "length", None) is None:
        raise ValueError(f"{path.name} is not an audio file mutagen can read (WAV, MP3, OGG, …)")
    return float(audio.info.length)


@attrs.frozen
class Sketch:
    """One sketch; ``duration_source`` says whether the length was measured or declared."""

    id: str
    title: str
    topic: str
    language: str
    seconds: float
    producer: str
    due: pendulum.Date | None = None
    delivered: pendulum.Date | None = None
    audio: Path | None = None
    duration_source: str = "csv"

    @property
    def eligible_from(self) -> pendulum.Date | None:
        """Schedulers start rotating a sketch on its due date (the plan stands if it is late)."""
        return self.due


class DueState(enum.StrEnum):
    ON_TIME = "delivered_on_time"
    LATE = "delivered_late"
    OVERDUE = "overdue"
    NOT_YET_DUE = "not_yet_due"


@attrs.frozen
class DueStatus:
    sketch: Sketch
    state: DueState
    days_late: int = 0

    @property
    def missed(self) -> bool:
        return self.state in (DueState.LATE, DueState.OVERDUE)


class SketchCatalogue:
    """The sketches of a campaign, in catalogue order (which seeds the rotation)."""

    def __init__(self, sketches: Iterable[Sketch] = (), *, max_seconds: float = 60.0) -> None:
        self.max_seconds = max_seconds
        self._sketches: dict[str, Sketch] = {}
        for sketch in sketches:
            self.add(sketch)

    def add(self, sketch: Sketch) -> None:
        if sketch.id in self._sketches:
            raise ValueError(f"sketch id {sketch.id!r} is used twice")
        if sketch.seconds > self.max_seconds:
            how = "measured from " + sketch.audio.name if sketch.audio else "declared"
            raise ValueError(
                f"sketch {sketch.id!r} is {sketch.seconds:.1f} s long ({how}); the limit is {self.max_seconds:g} s"
            )
        if sketch.seconds <= 0:
            raise ValueError(f"sketch {sketch.id!r} has no length ({sketch.seconds} s)")
        self._sketches[sketch.id] = sketch

    def __iter__(self) -> Iterator[Sketch]:
        return iter(self._sketches.values())

    def __len__(self) -> int:
        return len(self._sketches)

    def __contains__(self, sketch_id: object) -> bool:
        return sketch_id in self._sketches

    def get(self, sketch_id: str) -> Sketch:
        return self._sketches[sketch_id]

    def due_report(self, on: dt.date) -> list[DueStatus]:
        """Each sketch's delivery against its due date, as known ``on`` that day."""
        result = []
        for sketch in self:
            if sketch.due is None:
                state, late = DueState.ON_TIME, 0
            elif sketch.delivered is not None:
                late = max(0, (sketch.delivered - sketch.due).days)
                state = DueState.LATE if late else DueState.ON_TIME
            elif on > sketch.due:
                state, late = DueState.OVERDUE, (pendulum.Date(on.year, on.month, on.day) - sketch.due).days
            else:
                state, late = DueState.NOT_YET_DUE, 0
            result.append(DueStatus(sketch, state, late))
        return result

    @classmethod
    def from_csv(cls, path: Path, *, max_seconds: float = 60.0) -> SketchCatalogue:
        """Read ``id,title,topic,language,producer,due[,duration_seconds,delivered,audio]``.

        ``audio`` paths are relative to the CSV file; when given, the length is measured.
        """
        catalogue = cls(max_seconds=max_seconds)
        source = str(path)
        problems: list[DataError] = []
        for line, row in read_rows(path, SKETCH_COLUMNS, SKETCH_OPTIONAL, problems=problems):
            column = "id"
            try:
                if not row["id"]:
                    raise ValueError("sketch id is empty")
                column = "title"
                if not row["title"]:
                    raise ValueError("title is empty")
                column = "language"
                language = parse_language(row["language"])
                column = "due"
                due = parse_date(row["due"]) if row["due"] else None
                column = "delivered"
                delivered = parse_date(row["delivered"]) if row.get("delivered") else None
                audio: Path | None = None
                if row.get("audio"):
                    column = "audio"
                    audio = Path(row["audio"])
                    if not audio.is_absolute():
                        audio = path.parent / audio
                    seconds, how = measure_audio(audio), "audio"
                else:
                    column = "duration_seconds"
                    text = row.get("duration_seconds", "")
                    try:
                        seconds, how = float(text), "csv"
                    except ValueError:
                        raise ValueError(
                            f"{text!r} is not a length in seconds (give duration_seconds or audio)"
                        ) from None
                catalogue.add(
                    Sketch(
                        id=row["id"],
                        title=row["title"],
                        topic=row["topic"],
                        language=language,
                        seconds=seconds,
                        producer=row["producer"],
                        due=due,
                        delivered=delivered,
                        audio=audio,
                        duration_source=how,
                    )
                )
            except ValueError as exc:
                problems.append(DataError(str(exc), source=source, line=line, column=column,
                                          value=row.get(column)))
        raise_problems(problems)
        if not len(catalogue):
            raise DataError("no sketches", source=source)
        return catalogue

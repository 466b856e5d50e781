"""Sharded JSONL or Parquet output, and one file joined from the shards when one is asked for."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson

OUTPUT_FORMATS = ("jsonl", "parquet")


class ShardWriter:
    """Writes `<prefix>-<name>.<format>` files into `directory`, one per call."""

    def __init__(self, directory: Path, prefix: str, fmt: str) -> None:
        if fmt not in OUTPUT_FORMATS:
            raise ValueError(f"output format {fmt!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
        self.directory, self.prefix, self.fmt = directory, prefix, fmt

    def shards(self) -> list[Path]:
        return sorted(self.directory.glob(f"{self.prefix}-*.{self.fmt}"))

    def clear(self) -> None:
        """Remove this writer's shards of an earlier run, so they cannot mix with this one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for path in self.shards():
            path.unlink()

    def write(self, name: str, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        path = self.directory / f"{self.prefix}-{name}.{self.fmt}"
        if self.fmt == "jsonl":
            lines = [orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE) for record in records]
            path.write_bytes(b"".join(lines))
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        # Every key of every record (`Table.from_pylist` would take the first record's only).
        names = list(dict.fromkeys(key for record in records for key in record))
        pq.write_table(pa.table({key: [r.get(key) for r in records] for key in names}), path)

    def join_into(self, target: Path) -> None:
        """Concatenate the shards into one file (an empty one when there are none)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        shards = self.shards()
        if self.fmt == "jsonl":
            with target.open("wb") as out:
                for path in shards:
                    with path.open("rb") as shard:
                        shutil.copyfileobj(shard, out)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = [pq.read_table(path) for path in shards]
        table = pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})
        pq.write_table(table, target)


def output_format(path: Path, default: str) -> str:
    """`jsonl` / `parquet` from a file name's suffix; a folder gets `default`."""
    suffix = path.suffix.lstrip(".")
    return suffix if suffix in OUTPUT_FORMATS else default


def is_single_file(path: Path) -> bool:
    return path.suffix.lstrip(".") in OUTPUT_FORMATS

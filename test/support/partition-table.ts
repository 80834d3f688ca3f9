// Reads an image file's partition table back with `sfdisk --json`, for tests
// that check what src/image/partition-table.ts wrote.
import { execa } from 'execa';

/** One partition as sfdisk reports it. */
export interface TableEntry {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid?: string;
  name?: string;
  attrs?: string;
  bootable?: boolean;
}

export interface TableDump {
  label: 'gpt' | 'dos';
  id: string;
  sectorsize?: number;
  partitions: TableEntry[];
}

/** Reads the partition table of an image file back (`sfdisk --json`). */
export async function readPartitionTable(image: string): Promise<TableDump> {
  const r = await execa('sfdisk', ['--json', image]);
  return (JSON.parse(r.stdout) as { partitiontable: TableDump }).partitiontable;
}

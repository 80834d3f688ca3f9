// The disk image stage's public API: load a block-device layout, assemble
// bootable images from a root tree, measure a tree.
export { assembleImage, type AssembleOptions, type AssembleResult, type ImageOutput, type LayoutUsed, type BlockDeviceContext } from './assemble.js';
export { loadLayout, parseLayoutText, builtinLayouts, BUILTIN_LAYOUT_DIR } from './layout-load.js';
export { measureTree, type TreeUsage } from './size.js';
export { codecId } from './cluster-compressor.js';
export type { Layout, PartitionSpec, SizeSpec, TableType, PartitionType, FilesystemType, PartitionFlag } from './layout.js';

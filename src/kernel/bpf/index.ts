/** The BPF loader: objects, programs, links, maps, ring buffers, perf events, stacks and probes. */
export * from './constants.js';
export { BpfLink, BpfObject, BpfProgram, encodeGlobal, openObject, tracefsMounted, type OpenOptions } from './object.js';
export { BpfMap, TypedMap, perCpu, sumPerCpuU64, u32, u64, type Codec, type MapEntry } from './map.js';
export { RingBuffer, splitBatch, type RingBufferOptions } from './ringbuf.js';
export { PERF_SAMPLE, PerfEvent, decodePerfRecords, openCpuClockPerCpu, openCyclesPerCpu, openNmiWatchdogPerCpu, openSamplerPerCpu, type PerfRecords, type PerfSample } from './perf.js';
export { decodeStack, readKernelStack, readStack, scannedFrames } from './stacks.js';
export { bpfObjectPath, bpfOutputDir, findBpfObject, kernelHasTracepoint } from './paths.js';
export { probeBpf, type BpfCapabilities, type BpfFeature, type ProbeOptions } from './probe.js';
export * from './selftest.js';

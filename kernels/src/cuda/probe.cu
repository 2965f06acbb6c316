// Timing probe: an empty kernel. Its event-to-event time is the fixed cost of one launch on this device, the floor
// under which no kernel of the other families can finish (the benches print it beside each kernel).

extern "C" __global__ void noop() {}

// Advantage kernels (GRPO, RLOO, GAE, step broadcast). Twin of the CPU code in src/advantage.rs: same maths, and
// the same rounding per operation (explicit __f*_rn intrinsics stop the compiler from contracting a*b+c into an FMA
// the CPU does not do); sums over a group are taken in a different order than the CPU's, so they agree to ~1 ulp
// of the sum rather than bit for bit.
//
// Layout of the segmented kernel (group_adv, GRPO/RLOO when a block's groups do not fit group_adv_tiled's
// staging): `lanes` consecutive threads (a power of two <= 32, chosen by the host from the longest segment) own one
// segment, and each thread holds up to SEG_R of its members in registers, so a segment that fits in lanes*SEG_R
// members is read from memory once and every thread has several independent loads in flight.
//
// The staging kernels (group_adv_tiled, gae) load at clamped indices instead of testing them: ptxas issues
// unconditional loads together, while it split predicated ones into short runs, each a DRAM round trip (read the
// SASS with `python3 kernels/nvrtc-check.py --dump DIR`).

#define SEG_R 4

// Sum over the `lanes` threads of a segment (lanes a power of two; every thread of the warp takes part).
__device__ __forceinline__ float seg_sum_f(float v, int lanes) {
    for (int o = lanes >> 1; o > 0; o >>= 1) v = __fadd_rn(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

__device__ __forceinline__ unsigned int seg_sum_u(unsigned int v, int lanes) {
    for (int o = lanes >> 1; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float seg_min_f(float v, int lanes) {
    for (int o = lanes >> 1; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

__device__ __forceinline__ float seg_max_f(float v, int lanes) {
    for (int o = lanes >> 1; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// GRPO (op 0) or RLOO (op 1) over groups; `valid` is read only when has_valid != 0; counts[g] = valid members.
// Threads past the last group take part in the shuffles with an empty segment, so no thread leaves early.
extern "C" __global__ void group_adv(const float* __restrict__ rewards, const unsigned int* __restrict__ offsets,
                                     const unsigned char* __restrict__ valid, int has_valid, unsigned int groups,
                                     int lanes, int op, int scale_by_std, int unbiased, float eps,
                                     float* __restrict__ out, unsigned int* __restrict__ counts) {
    const unsigned int t = blockIdx.x * blockDim.x + threadIdx.x;
    const unsigned int g = t / (unsigned int)lanes;
    const unsigned int lane = t & (unsigned int)(lanes - 1);
    const bool live = g < groups;
    const unsigned int s = live ? offsets[g] : 0u;
    const unsigned int e = live ? offsets[g + 1] : 0u;
    const unsigned int span = (unsigned int)lanes * SEG_R;
    const bool in_regs = e - s <= span;  // the whole group sits in registers after the first pass

    float r[SEG_R];
    bool ok[SEG_R];
    float sum = 0.0f;
    unsigned int n = 0;
    float lo = AW_INF, hi = (-AW_INF);
    for (unsigned int base = s; base < e; base += span) {
#pragma unroll
        for (int q = 0; q < SEG_R; ++q) {
            const unsigned int i = base + lane + q * (unsigned int)lanes;
            const bool in = i < e;
            r[q] = in ? rewards[i] : 0.0f;
            ok[q] = in && (!has_valid || valid[i]);
        }
#pragma unroll
        for (int q = 0; q < SEG_R; ++q) {
            if (ok[q]) {
                sum = __fadd_rn(sum, r[q]);
                n += 1;
                lo = fminf(lo, r[q]);
                hi = fmaxf(hi, r[q]);
            }
        }
    }
    sum = seg_sum_f(sum, lanes);
    n = seg_sum_u(n, lanes);
    lo = seg_min_f(lo, lanes);
    hi = seg_max_f(hi, lanes);
    if (live && lane == 0) counts[g] = n;
    const bool flat = n < 2 || lo == hi;  // underfilled, or all valid rewards equal: no signal

    float mean = 0.0f, scale = 1.0f;
    if (op == 0) {
        mean = n > 0 ? sum / (float)n : 0.0f;
        if (scale_by_std) {  // uniform across the grid, so the shuffles below are reached by every thread
            float ss = 0.0f;
            if (in_regs) {
#pragma unroll
                for (int q = 0; q < SEG_R; ++q) {
                    if (ok[q]) {
                        const float dv = __fsub_rn(r[q], mean);
                        ss = __fadd_rn(ss, __fmul_rn(dv, dv));
                    }
                }
            } else {
                for (unsigned int i = s + lane; i < e; i += (unsigned int)lanes) {
                    if (!has_valid || valid[i]) {
                        const float dv = __fsub_rn(rewards[i], mean);
                        ss = __fadd_rn(ss, __fmul_rn(dv, dv));
                    }
                }
            }
            ss = seg_sum_f(ss, lanes);
            const float denom = unbiased ? (float)(n - 1) : (float)n;
            if (!flat) scale = 1.0f / __fadd_rn(sqrtf(ss / denom), eps);
        }
    }
    const float inv = n > 1 ? 1.0f / (float)(n - 1) : 0.0f;
    if (in_regs) {
#pragma unroll
        for (int q = 0; q < SEG_R; ++q) {
            const unsigned int i = s + lane + q * (unsigned int)lanes;
            if (i >= e) continue;
            float a = 0.0f;
            if (ok[q] && !flat) {
                a = op == 0 ? __fmul_rn(__fsub_rn(r[q], mean), scale) : __fsub_rn(r[q], __fmul_rn(__fsub_rn(sum, r[q]), inv));
            }
            out[i] = a;
        }
    } else {
        for (unsigned int i = s + lane; i < e; i += (unsigned int)lanes) {
            float a = 0.0f;
            if (!flat && (!has_valid || valid[i])) {
                const float x = rewards[i];
                a = op == 0 ? __fmul_rn(__fsub_rn(x, mean), scale) : __fsub_rn(x, __fmul_rn(__fsub_rn(sum, x), inv));
            }
            out[i] = a;
        }
    }
}

// GRPO (op 0) or RLOO (op 1), staged: a block owns GRP_GROUPS consecutive groups, one per thread, whose members
// (at most `cap` of them together: cap is a multiple of GRP_BATCH * GRP_GROUPS, at most GRP_TILE; the host checks
// and sizes the dynamic shared memory to match) are loaded into shared memory with coalesced, batched loads; each
// thread then reduces its own group sequentially, in the CPU's order and with its roundings (so the results are
// bit-identical to the CPU's), and the block writes the advantages back coalesced. Indices are skewed like GAE's so
// threads walking equal-length groups do not share banks. The host uses group_adv (above) when a block's groups do
// not fit.
//
// Occupancy is the lever here: each block alternates a memory phase with a serial arithmetic phase, so DRAM stays
// busy only when many blocks are resident. Shared memory is sized to the members the blocks really hold (4.2 KB for
// groups of 16, against 16.9 KB for a fixed GRP_TILE) and the validity mask, with its staging array and loads,
// exists only in the masked variant, whose registers the unmasked one then does not pay for.
#define GRP_GROUPS 64
#define GRP_TILE 2048
#define GRP_BATCH 16
#define GRP_SKEW(i) ((i) + ((i) >> 5))

template <bool MASKED>
__device__ __forceinline__ void group_tiled(const float* __restrict__ rewards, const unsigned int* __restrict__ offsets,
                                            const unsigned char* __restrict__ valid, unsigned int groups,
                                            unsigned int cap, int op, int scale_by_std, int unbiased, float eps,
                                            float* __restrict__ out, unsigned int* __restrict__ counts) {
    extern __shared__ float grp_smem[];
    float* sr = grp_smem;                  // rewards in, advantages out: GRP_SKEW(cap) floats
    float* sv = grp_smem + GRP_SKEW(cap);  // validity as 0 / 1 (MASKED only): GRP_SKEW(cap) floats
    const unsigned int g0 = blockIdx.x * GRP_GROUPS;
    const unsigned int g1 = min(g0 + GRP_GROUPS, groups);
    const unsigned int gi = g0 + threadIdx.x;
    const bool live = gi < g1;
    const unsigned int S = offsets[g0];
    const unsigned int len = offsets[g1] - S;  // <= cap
    const unsigned int s = live ? offsets[gi] - S : 0u;
    const unsigned int e = live ? offsets[gi + 1] - S : 0u;
    // Indices are clamped rather than tested, so the GRP_BATCH loads of a thread are unconditional and, unmasked,
    // all in flight at once (ptxas split the predicated ones into batches of 4, each a DRAM round trip); the copies
    // past `len` land in staging slots no group reads, which exist because cap is a whole number of batches.
    if (MASKED) {
        // every thread takes every pass (the barrier needs it); coherent loads (ld.global.cg) cannot be moved across
        // the barrier, so all 32 of a pass are in flight before the first shared store
        for (unsigned int pass = 0; pass < len; pass += GRP_BATCH * GRP_GROUPS) {
            const unsigned int i0 = pass + threadIdx.x;
            float r[GRP_BATCH];
            unsigned char v[GRP_BATCH];
#pragma unroll
            for (int q = 0; q < GRP_BATCH; ++q) {
                const unsigned int i = S + min(i0 + q * GRP_GROUPS, len - 1);
                r[q] = __ldcg(rewards + i);
                v[q] = __ldcg(valid + i);
            }
            __syncthreads();
#pragma unroll
            for (int q = 0; q < GRP_BATCH; ++q) {
                const unsigned int k = GRP_SKEW(i0 + q * GRP_GROUPS);
                sr[k] = r[q];
                sv[k] = v[q] ? 1.0f : 0.0f;
            }
        }
    } else {
        for (unsigned int i0 = threadIdx.x; i0 < len; i0 += GRP_BATCH * GRP_GROUPS) {
            float r[GRP_BATCH];
#pragma unroll
            for (int q = 0; q < GRP_BATCH; ++q) r[q] = rewards[S + min(i0 + q * GRP_GROUPS, len - 1)];
#pragma unroll
            for (int q = 0; q < GRP_BATCH; ++q) sr[GRP_SKEW(i0 + q * GRP_GROUPS)] = r[q];
        }
    }
    __syncthreads();
    if (live) {
        float sum = 0.0f, lo = AW_INF, hi = (-AW_INF);
        unsigned int n = 0;
        for (unsigned int i = s; i < e; ++i) {
            if (!MASKED || sv[GRP_SKEW(i)] != 0.0f) {
                const float x = sr[GRP_SKEW(i)];
                sum = __fadd_rn(sum, x);
                n += 1;
                lo = fminf(lo, x);
                hi = fmaxf(hi, x);
            }
        }
        counts[gi] = n;
        if (n < 2 || lo == hi) {  // underfilled, or all valid rewards equal: no signal
            for (unsigned int i = s; i < e; ++i) sr[GRP_SKEW(i)] = 0.0f;
        } else if (op == 0) {
            const float mean = sum / (float)n;
            float scale = 1.0f;
            if (scale_by_std) {
                float ss = 0.0f;
                for (unsigned int i = s; i < e; ++i) {
                    if (!MASKED || sv[GRP_SKEW(i)] != 0.0f) {
                        const float dv = __fsub_rn(sr[GRP_SKEW(i)], mean);
                        ss = __fadd_rn(ss, __fmul_rn(dv, dv));
                    }
                }
                const float denom = unbiased ? (float)(n - 1) : (float)n;
                scale = 1.0f / __fadd_rn(sqrtf(ss / denom), eps);
            }
            for (unsigned int i = s; i < e; ++i) {
                const unsigned int k = GRP_SKEW(i);
                sr[k] = !MASKED || sv[k] != 0.0f ? __fmul_rn(__fsub_rn(sr[k], mean), scale) : 0.0f;
            }
        } else {
            const float inv = 1.0f / (float)(n - 1);
            for (unsigned int i = s; i < e; ++i) {
                const unsigned int k = GRP_SKEW(i);
                const float x = sr[k];
                sr[k] = !MASKED || sv[k] != 0.0f ? __fsub_rn(x, __fmul_rn(__fsub_rn(sum, x), inv)) : 0.0f;
            }
        }
    }
    __syncthreads();
    for (unsigned int i = threadIdx.x; i < len; i += GRP_GROUPS) out[S + i] = sr[GRP_SKEW(i)];
}

// Unmasked: dynamic shared memory of GRP_SKEW(cap) floats.
extern "C" __global__ void __launch_bounds__(GRP_GROUPS) group_adv_tiled(
    const float* __restrict__ rewards, const unsigned int* __restrict__ offsets, unsigned int groups, unsigned int cap,
    int op, int scale_by_std, int unbiased, float eps, float* __restrict__ out, unsigned int* __restrict__ counts) {
    group_tiled<false>(rewards, offsets, nullptr, groups, cap, op, scale_by_std, unbiased, eps, out, counts);
}

// With the validity mask: dynamic shared memory of 2 * GRP_SKEW(cap) floats.
extern "C" __global__ void __launch_bounds__(GRP_GROUPS) group_adv_tiled_masked(
    const float* __restrict__ rewards, const unsigned int* __restrict__ offsets, const unsigned char* __restrict__ valid,
    unsigned int groups, unsigned int cap, int op, int scale_by_std, int unbiased, float eps, float* __restrict__ out,
    unsigned int* __restrict__ counts) {
    group_tiled<true>(rewards, offsets, valid, groups, cap, op, scale_by_std, unbiased, eps, out, counts);
}

// GAE. A block owns GAE_EPS consecutive episodes, one per thread, and walks their steps backwards in tiles of
// GAE_TILE steps staged through shared memory, so global reads and writes are coalesced while each thread keeps the
// CPU's sequential recursion (and its rounding) for its own episode. Shared indices are skewed by one word per 32
// (GAE_SKEW): threads walking episodes of equal length would otherwise hit the same bank (16-way for length 16).
// `bootstrap` is read only when has_bootstrap != 0.
#define GAE_EPS 128
#define GAE_LOADS 8
#define GAE_TILE (GAE_EPS * GAE_LOADS)
#define GAE_SKEW(i) ((i) + ((i) >> 5))

extern "C" __global__ void __launch_bounds__(GAE_EPS) gae(const float* __restrict__ rewards, const float* __restrict__ values,
                               const unsigned int* __restrict__ offsets, const float* __restrict__ bootstrap,
                               int has_bootstrap, unsigned int episodes, float gamma, float gl,
                               float* __restrict__ adv, float* __restrict__ ret) {
    __shared__ float sr[GAE_SKEW(GAE_TILE)];  // rewards in, advantages out
    __shared__ float sv[GAE_SKEW(GAE_TILE)];  // values in, returns out
    const unsigned int e0 = blockIdx.x * GAE_EPS;
    const unsigned int e1 = min(e0 + GAE_EPS, episodes);
    const unsigned int ep = e0 + threadIdx.x;
    const bool live = ep < e1;
    const unsigned int S = offsets[e0];
    const unsigned int E = offsets[e1];
    const unsigned int s = live ? offsets[ep] : 0u;
    const unsigned int e = live ? offsets[ep + 1] : 0u;
    float v_next = live && has_bootstrap ? bootstrap[ep] : 0.0f;
    float a_next = 0.0f;
    for (unsigned int te = E; te > S;) {
        const unsigned int ts = te - S > GAE_TILE ? te - GAE_TILE : S;
        const unsigned int len = te - ts;
        float r[GAE_LOADS], v[GAE_LOADS];
        // indices are clamped rather than tested (as in group_tiled), so the loads are unconditional and ptxas
        // issues them in two batches instead of four; the copies past `len` land in staging slots no episode reads
#pragma unroll
        for (int q = 0; q < GAE_LOADS; ++q) {
            const unsigned int i = ts + min(threadIdx.x + q * GAE_EPS, len - 1);
            r[q] = rewards[i];
            v[q] = values[i];
        }
#pragma unroll
        for (int q = 0; q < GAE_LOADS; ++q) {
            const unsigned int i = threadIdx.x + q * GAE_EPS;
            sr[GAE_SKEW(i)] = r[q];
            sv[GAE_SKEW(i)] = v[q];
        }
        __syncthreads();
        if (live) {
            const unsigned int hi = min(e, te), lo = max(s, ts);
            for (unsigned int t = hi; t > lo; --t) {
                const unsigned int i = GAE_SKEW(t - 1 - ts);
                const float vt = sv[i];
                const float delta = __fsub_rn(__fadd_rn(sr[i], __fmul_rn(gamma, v_next)), vt);
                const float a = __fadd_rn(delta, __fmul_rn(gl, a_next));
                sr[i] = a;
                sv[i] = __fadd_rn(a, vt);
                v_next = vt;
                a_next = a;
            }
        }
        __syncthreads();
#pragma unroll
        for (int q = 0; q < GAE_LOADS; ++q) {
            const unsigned int i = threadIdx.x + q * GAE_EPS;
            if (i < len) {
                adv[ts + i] = sr[GAE_SKEW(i)];
                ret[ts + i] = sv[GAE_SKEW(i)];
            }
        }
        __syncthreads();  // the next tile overwrites the staging buffers
        te = ts;
    }
}

// Every step gets its episode's advantage, or format_error_value when flagged. A warp owns 32 consecutive episodes
// (lane j holds the first step and the advantage of episode e0 + j), whose steps are contiguous, and walks them 32
// at a time: every load and store is coalesced whatever the episodes' lengths (the segmented layout of group_adv
// wrote 16-byte pieces of many lines per instruction and ran at 2.2x the bandwidth floor). Each lane finds its
// step's episode by a binary search over the lanes' first steps, in shuffles; flags for BC_CHUNKS chunks are loaded
// at once, at clamped (so unconditional) indices.
#define BC_CHUNKS 16

extern "C" __global__ void broadcast_steps(const float* __restrict__ episode_adv,
                                           const unsigned int* __restrict__ offsets, unsigned int episodes,
                                           const unsigned char* __restrict__ format_error, float format_error_value,
                                           float* __restrict__ out) {
    const unsigned int e0 = ((blockIdx.x * blockDim.x + threadIdx.x) >> 5) * 32u;
    if (e0 >= episodes) return;  // uniform across the warp
    const unsigned int lane = threadIdx.x & 31;
    const unsigned int ep = e0 + lane;
    // lanes past the last episode start "after every step", so the search never picks them
    const unsigned int first = ep < episodes ? offsets[ep] : 0xffffffffu;
    const float adv = ep < episodes ? episode_adv[ep] : 0.0f;
    const unsigned int end = offsets[min(e0 + 32u, episodes)];
    const unsigned int start = __shfl_sync(FULL_MASK, first, 0);
    for (unsigned int c0 = start; c0 < end; c0 += 32u * BC_CHUNKS) {
        unsigned char f[BC_CHUNKS];
#pragma unroll
        for (int q = 0; q < BC_CHUNKS; ++q) f[q] = format_error[min(c0 + q * 32u + lane, end - 1)];
#pragma unroll
        for (int q = 0; q < BC_CHUNKS; ++q) {
            const unsigned int i = c0 + q * 32u + lane;
            // the last lane whose episode starts at or before step i (first steps never decrease; lane 0's is
            // <= i); with empty episodes that is the non-empty one holding i
            int at = 0;
#pragma unroll
            for (int step = 16; step > 0; step >>= 1) {
                if (__shfl_sync(FULL_MASK, first, at + step) <= i) at += step;
            }
            const float a = __shfl_sync(FULL_MASK, adv, at);
            if (i < end) out[i] = f[q] ? format_error_value : a;
        }
    }
}

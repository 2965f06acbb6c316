// Advantage kernels (GRPO, RLOO, GAE, step broadcast). Twin of the CPU code in src/advantage.rs: same maths, and
// the same rounding where it matters (explicit __f*_rn intrinsics stop the compiler from contracting a*b+c into
// an FMA the CPU does not do).

// +inf without math.h (NVRTC compiles without the host headers).
#define AW_INF __int_as_float(0x7f800000)

#define FULL_MASK 0xffffffffu

__device__ __forceinline__ float warp_sum_f(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float warp_min_f(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

__device__ __forceinline__ float warp_max_f(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

__device__ __forceinline__ unsigned int warp_sum_u(unsigned int v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// One warp per group. op 0: GRPO, op 1: RLOO. `valid` is read only when has_valid != 0. counts[g] = valid members.
extern "C" __global__ void group_adv(const float* __restrict__ rewards, const unsigned int* __restrict__ offsets,
                                     const unsigned char* __restrict__ valid, int has_valid, unsigned int groups, int op,
                                     int scale_by_std, int unbiased, float eps, float* __restrict__ out,
                                     unsigned int* __restrict__ counts) {
    const unsigned int g = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const unsigned int lane = threadIdx.x & 31u;
    if (g >= groups) return;  // uniform across the warp
    const unsigned int s = offsets[g];
    const unsigned int e = offsets[g + 1];
    float sum = 0.0f;
    unsigned int n = 0;
    float lo = AW_INF, hi = (-AW_INF);
    for (unsigned int i = s + lane; i < e; i += 32) {
        if (!has_valid || valid[i]) {
            const float r = rewards[i];
            sum = __fadd_rn(sum, r);
            n += 1;
            lo = fminf(lo, r);
            hi = fmaxf(hi, r);
        }
    }
    sum = warp_sum_f(sum);
    n = warp_sum_u(n);
    lo = warp_min_f(lo);
    hi = warp_max_f(hi);
    if (lane == 0) counts[g] = n;
    if (n < 2 || lo == hi) {  // underfilled, or all valid rewards equal: no signal
        for (unsigned int i = s + lane; i < e; i += 32) out[i] = 0.0f;
        return;
    }
    if (op == 0) {
        const float mean = sum / (float)n;
        float scale = 1.0f;
        if (scale_by_std) {
            float ss = 0.0f;
            for (unsigned int i = s + lane; i < e; i += 32) {
                if (!has_valid || valid[i]) {
                    const float dv = __fsub_rn(rewards[i], mean);
                    ss = __fadd_rn(ss, __fmul_rn(dv, dv));
                }
            }
            ss = warp_sum_f(ss);
            const float denom = unbiased ? (float)(n - 1) : (float)n;
            scale = 1.0f / __fadd_rn(sqrtf(ss / denom), eps);
        }
        for (unsigned int i = s + lane; i < e; i += 32) {
            const bool ok = !has_valid || valid[i];
            out[i] = ok ? __fmul_rn(__fsub_rn(rewards[i], mean), scale) : 0.0f;
        }
    } else {
        const float inv = 1.0f / (float)(n - 1);
        for (unsigned int i = s + lane; i < e; i += 32) {
            const bool ok = !has_valid || valid[i];
            const float r = rewards[i];
            out[i] = ok ? __fsub_rn(r, __fmul_rn(__fsub_rn(sum, r), inv)) : 0.0f;
        }
    }
}

// One thread per episode, backward recursion. `bootstrap` is read only when has_bootstrap != 0.
extern "C" __global__ void gae(const float* __restrict__ rewards, const float* __restrict__ values,
                               const unsigned int* __restrict__ offsets, const float* __restrict__ bootstrap, int has_bootstrap,
                               unsigned int episodes, float gamma, float gl, float* __restrict__ adv,
                               float* __restrict__ ret) {
    const unsigned int ep = blockIdx.x * blockDim.x + threadIdx.x;
    if (ep >= episodes) return;
    const unsigned int s = offsets[ep];
    const unsigned int e = offsets[ep + 1];
    float v_next = has_bootstrap ? bootstrap[ep] : 0.0f;
    float a_next = 0.0f;
    for (unsigned int t = e; t > s; --t) {
        const unsigned int i = t - 1;
        const float v = values[i];
        const float delta = __fsub_rn(__fadd_rn(rewards[i], __fmul_rn(gamma, v_next)), v);
        const float a = __fadd_rn(delta, __fmul_rn(gl, a_next));
        adv[i] = a;
        ret[i] = __fadd_rn(a, v);
        v_next = v;
        a_next = a;
    }
}

// One thread per step; the step's episode is found by binary search over the offsets.
extern "C" __global__ void broadcast_steps(const float* __restrict__ episode_adv,
                                           const unsigned int* __restrict__ offsets, unsigned int episodes,
                                           const unsigned char* __restrict__ format_error, unsigned int steps,
                                           float format_error_value, float* __restrict__ out) {
    const unsigned int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= steps) return;
    unsigned int lo = 0, hi = episodes;  // invariant: offsets[lo] <= t
    while (hi - lo > 1) {
        const unsigned int mid = lo + (hi - lo) / 2;
        if (offsets[mid] <= t) lo = mid; else hi = mid;
    }
    out[t] = format_error[t] ? format_error_value : episode_adv[lo];
}

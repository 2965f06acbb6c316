// Policy network kernels: scores, sampling, policy-gradient. Twin of src/policy.rs (see its module docs for the
// maths). Parameters arrive padded: W1 as [D][Hp] and b1, w2 as [Hp], Hp a multiple of 32, padding zero.
// Features are f16 bit patterns (unsigned short), widened with cvt.f32.f16 (no header needed).
//
// Rounding: the hidden pre-activations use fmaf in ascending d, like the CPU's FMA path; the score sum and the
// softmax use explicit __f*_rn intrinsics in the CPU's order, so scores are bit-identical to the CPU's (x86-64
// with FMA) and decisions differ only through expf/logf ulps.

// +inf without math.h (NVRTC compiles without the host headers).
#define AW_INF __int_as_float(0x7f800000)

#define HC 32
#define DPT 8

__device__ __forceinline__ float h2f(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// rng::uniform in src/rng.rs
__device__ __forceinline__ float key_uniform(unsigned long long seed, unsigned long long ep, unsigned long long st) {
    const unsigned long long h = mix64(mix64(mix64(seed) ^ ep) ^ st);
    return (float)(h >> 40) * (1.0f / 16777216.0f);
}

// Score of one candidate; with hid != nullptr also stores its Hp post-ReLU activations there.
__device__ float cand_score(const unsigned short* __restrict__ x, const float* __restrict__ w1,
                            const float* __restrict__ b1, const float* __restrict__ w2, int D, int Hp,
                            float* __restrict__ hid) {
    float s = 0.0f;
    for (int j0 = 0; j0 < Hp; j0 += HC) {
        float acc[HC];
#pragma unroll
        for (int i = 0; i < HC; ++i) acc[i] = b1[j0 + i];
        for (int d = 0; d < D; ++d) {
            const float xv = h2f(x[d]);
            const float4* wr = reinterpret_cast<const float4*>(w1 + (size_t)d * Hp + j0);
#pragma unroll
            for (int q = 0; q < HC / 4; ++q) {
                const float4 w = __ldg(wr + q);
                acc[4 * q + 0] = fmaf(xv, w.x, acc[4 * q + 0]);
                acc[4 * q + 1] = fmaf(xv, w.y, acc[4 * q + 1]);
                acc[4 * q + 2] = fmaf(xv, w.z, acc[4 * q + 2]);
                acc[4 * q + 3] = fmaf(xv, w.w, acc[4 * q + 3]);
            }
        }
#pragma unroll
        for (int i = 0; i < HC; ++i) {
            const float h = fmaxf(acc[i], 0.0f);
            if (hid != nullptr) hid[j0 + i] = h;
            s = __fadd_rn(s, __fmul_rn(w2[j0 + i], h));
        }
    }
    return s;
}

struct RowStats {
    int n;
    float m, z, lnz, ent;
};

// Softmax statistics of a row (valid slots only, ascending k), filling e[k] = exp(z_k - m) for valid k.
__device__ RowStats row_softmax(const float* sc, const unsigned char* mask, int K, float tau, float* e) {
    RowStats r;
    r.n = 0;
    r.m = (-AW_INF);
    for (int k = 0; k < K; ++k) {
        if (mask[k]) {
            r.m = fmaxf(r.m, __fmul_rn(sc[k], tau));
            r.n += 1;
        }
    }
    r.z = 0.0f;
    r.lnz = 0.0f;
    r.ent = 0.0f;
    if (r.n == 0) return r;
    float sz = 0.0f;
    for (int k = 0; k < K; ++k) {
        if (mask[k]) {
            const float zc = __fsub_rn(__fmul_rn(sc[k], tau), r.m);
            const float v = expf(zc);
            e[k] = v;
            r.z = __fadd_rn(r.z, v);
            sz = __fadd_rn(sz, __fmul_rn(v, zc));
        }
    }
    r.lnz = logf(r.z);
    r.ent = fmaxf(__fsub_rn(r.lnz, sz / r.z), 0.0f);
    return r;
}

// Scores of every slot, -inf for masked ones. One block per state.
extern "C" __global__ void policy_scores(const unsigned short* __restrict__ X, const unsigned char* __restrict__ mask,
                                         const float* __restrict__ w1, const float* __restrict__ b1,
                                         const float* __restrict__ w2, int K, int D, int Hp, float* __restrict__ out) {
    const size_t b = blockIdx.x;
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
        const size_t n = b * K + k;
        out[n] = mask[n] ? cand_score(X + n * D, w1, b1, w2, D, Hp, nullptr) : (-AW_INF);
    }
}

// One decision per state. One block per state; dynamic shared memory: 2*K floats.
extern "C" __global__ void policy_sample(const unsigned short* __restrict__ X, const unsigned char* __restrict__ mask,
                                         const float* __restrict__ w1, const float* __restrict__ b1,
                                         const float* __restrict__ w2, int K, int D, int Hp,
                                         const unsigned long long* __restrict__ episode,
                                         const unsigned long long* __restrict__ step, unsigned long long seed,
                                         float tau, int greedy, int* __restrict__ chosen, float* __restrict__ logp,
                                         float* __restrict__ ent) {
    extern __shared__ float sh[];
    float* sc = sh;
    float* e = sh + K;
    const size_t b = blockIdx.x;
    const unsigned char* row_mask = mask + b * K;
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
        const size_t n = b * K + k;
        sc[k] = row_mask[k] ? cand_score(X + n * D, w1, b1, w2, D, Hp, nullptr) : 0.0f;
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    const RowStats r = row_softmax(sc, row_mask, K, tau, e);
    if (r.n == 0) {
        chosen[b] = -1;
        logp[b] = 0.0f;
        ent[b] = 0.0f;
        return;
    }
    int pick = -1;
    if (greedy) {
        for (int k = 0; k < K; ++k) {
            if (row_mask[k] && (pick < 0 || sc[k] > sc[pick])) pick = k;
        }
    } else {
        const float target = __fmul_rn(key_uniform(seed, episode[b], step[b]), r.z);
        float c = 0.0f;
        for (int k = 0; k < K; ++k) {
            if (!row_mask[k]) continue;
            pick = k;  // the last valid slot if rounding leaves none
            c = __fadd_rn(c, e[k]);
            if (target < c) break;
        }
    }
    chosen[b] = pick;
    logp[b] = __fsub_rn(__fsub_rn(__fmul_rn(sc[pick], tau), r.m), r.lnz);
    ent[b] = r.ent;
}

// Policy-gradient, stage 1, one block per state: scores and activations, the row's softmax, g_k = dL/ds_k, then
// U[n][j] = g_k w2_j [h_kj > 0] (overwriting the activations), per-state partial sums of dL/db1 and dL/dw2, and the
// state's loss. Rows with chosen < 0 write zeros. Dynamic shared memory: 3*K floats.
extern "C" __global__ void policy_grad_rows(const unsigned short* __restrict__ X, const unsigned char* __restrict__ mask,
                                            const float* __restrict__ w1, const float* __restrict__ b1,
                                            const float* __restrict__ w2, int K, int D, int Hp,
                                            const int* __restrict__ chosen, const float* __restrict__ adv, float tau,
                                            float beta, float scale, float* __restrict__ U, float* __restrict__ pb1,
                                            float* __restrict__ pw2, float* __restrict__ loss) {
    extern __shared__ float sh[];
    float* sc = sh;
    float* e = sh + K;
    float* g = sh + 2 * K;
    const size_t b = blockIdx.x;
    const int a = chosen[b];
    const unsigned char* row_mask = mask + b * K;
    if (a < 0) {
        for (size_t i = threadIdx.x; i < (size_t)K * Hp; i += blockDim.x) U[b * K * Hp + i] = 0.0f;
        for (int j = threadIdx.x; j < Hp; j += blockDim.x) {
            pb1[b * Hp + j] = 0.0f;
            pw2[b * Hp + j] = 0.0f;
        }
        if (threadIdx.x == 0) loss[b] = 0.0f;
        return;
    }
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
        const size_t n = b * K + k;
        if (row_mask[k]) {
            sc[k] = cand_score(X + n * D, w1, b1, w2, D, Hp, U + n * Hp);
        } else {
            sc[k] = 0.0f;
            for (int j = 0; j < Hp; ++j) U[n * Hp + j] = 0.0f;
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        const RowStats r = row_softmax(sc, row_mask, K, tau, e);
        const float av = adv[b];
        const float logp_a = __fsub_rn(__fsub_rn(__fmul_rn(sc[a], tau), r.m), r.lnz);
        loss[b] = -scale * __fadd_rn(__fmul_rn(av, logp_a), __fmul_rn(beta, r.ent));
        const float coef = __fmul_rn(-scale, tau);
        for (int k = 0; k < K; ++k) {
            if (!row_mask[k]) {
                g[k] = 0.0f;
                continue;
            }
            const float lp = __fsub_rn(__fsub_rn(__fmul_rn(sc[k], tau), r.m), r.lnz);
            const float p = expf(lp);
            const float onehot = k == a ? 1.0f : 0.0f;
            const float t1 = __fmul_rn(av, __fsub_rn(onehot, p));
            const float t2 = __fmul_rn(__fmul_rn(beta, p), __fadd_rn(lp, r.ent));
            g[k] = __fmul_rn(coef, __fsub_rn(t1, t2));
        }
    }
    __syncthreads();
    for (int j = threadIdx.x; j < Hp; j += blockDim.x) {
        const float w2j = w2[j];
        float sw2 = 0.0f, sb1 = 0.0f;
        for (int k = 0; k < K; ++k) {
            const size_t n = b * K + k;
            const float h = U[n * Hp + j];
            const float gk = g[k];
            sw2 = __fadd_rn(sw2, __fmul_rn(gk, h));
            const float u = h > 0.0f ? __fmul_rn(gk, w2j) : 0.0f;
            sb1 = __fadd_rn(sb1, u);
            U[n * Hp + j] = u;
        }
        pw2[b * Hp + j] = sw2;
        pb1[b * Hp + j] = sb1;
    }
}

// Policy-gradient, stage 2: partial[s][d][j] = sum over rows n of chunk s of x_nd * U[n][j]. A thread owns one j
// and DPT consecutive d; blockIdx.y is the chunk.
extern "C" __global__ void policy_grad_w1_partial(const unsigned short* __restrict__ X, const float* __restrict__ U,
                                                  unsigned int N, int D, int Hp, unsigned int chunk,
                                                  float* __restrict__ partial) {
    const unsigned int idx = blockIdx.x * blockDim.x + threadIdx.x;
    const int dgroups = (D + DPT - 1) / DPT;
    if (idx >= (unsigned int)(dgroups * Hp)) return;
    const int j = idx % Hp;
    const int d0 = (idx / Hp) * DPT;
    const size_t n0 = (size_t)blockIdx.y * chunk;
    const size_t n1 = n0 + chunk < (size_t)N ? n0 + chunk : (size_t)N;
    float acc[DPT];
#pragma unroll
    for (int i = 0; i < DPT; ++i) acc[i] = 0.0f;
    for (size_t n = n0; n < n1; ++n) {
        const float u = U[n * Hp + j];
        if (u == 0.0f) continue;
        const unsigned short* x = X + n * D + d0;
#pragma unroll
        for (int i = 0; i < DPT; ++i) {
            if (d0 + i < D) acc[i] = fmaf(h2f(x[i]), u, acc[i]);
        }
    }
    float* out = partial + (size_t)blockIdx.y * D * Hp;
#pragma unroll
    for (int i = 0; i < DPT; ++i) {
        if (d0 + i < D) out[(size_t)(d0 + i) * Hp + j] = acc[i];
    }
}

// out[c] = sum over r of partial[r][c], in ascending r.
extern "C" __global__ void reduce_rows(const float* __restrict__ partial, unsigned int rows, unsigned int cols,
                                       float* __restrict__ out) {
    const unsigned int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float s = 0.0f;
    for (unsigned int r = 0; r < rows; ++r) s += partial[(size_t)r * cols + c];
    out[c] = s;
}

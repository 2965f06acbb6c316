// Policy network kernels: forward pass, sampling, policy gradient. Twin of src/policy.rs (see its module docs for
// the maths). Parameters arrive padded: W1 as [D][Hp] and b1, w2 as [Hp], Hp a multiple of HC, padding zero.
// Features are f16 bit patterns (unsigned short), widened with cvt.f32.f16 (no header needed).
//
// Work split (N = B*K candidate rows):
//   policy_forward        tiled like an SGEMM: a block owns FWD_ROWS rows, stages DT features of them (widened to
//                         f32 once, transposed) and the matching DT x HC slice of W1 in shared memory, and each
//                         thread accumulates a TR x TJ tile (4 rows x 8 hidden units: three 16-byte shared loads
//                         per 32 FMAs, ~100 registers, so 4+ warps per scheduler); the next tile is loaded into
//                         registers while the current one is multiplied.
//                         Writes scores (-inf for masked rows) and, for the gradient, the post-ReLU activations.
//   policy_sample_rows    one warp per state: masked softmax statistics, then a greedy or sampled pick.
//   policy_grad_rows      one warp per state: g_k = dL/ds_k and the state's loss.
//   policy_grad_w1_partial  dW1 = X^T U with U[n][j] = g_n w2_j [h_nj > 0], split over row chunks (deterministic
//                         partial sums, reduced by one reduce_rows), plus the chunk's partial db1 and dw2.
//   reduce_rows           column sums of the chunk partials: 32 columns x 8 warps per block, in a fixed order.
//
// Rounding: hidden pre-activations use fmaf in ascending d and the score sum uses explicit __f*_rn intrinsics in
// ascending j, like the CPU's FMA path, so scores are bit-identical to the CPU's (x86-64 with FMA); softmax sums
// are warp reductions (a different order from the CPU's), so decisions differ only through ulps.

#define HC 32                    // hidden units per block tile (and the padding unit of Hp)
#define FT 128                   // threads per forward block
#define FWD_ROWS 128             // rows per forward block
#define DT 32                    // features per forward tile
#define TR 4                     // rows per forward thread
#define TJ 8                     // hidden units per forward thread
#define FWD_XCH (FWD_ROWS * DT / 8 / FT)  // 16-byte feature chunks each thread loads per tile
#define FWD_WCH (DT * HC / 4 / FT)        // float4 of W1 each thread loads per tile

#define GT 128                   // threads per dW1 block
#define GD 128                   // features per dW1 block (one output tile is GD x HC)
#define GTD 4                    // features per dW1 thread (each thread owns GTD x 8 outputs)
#define GR 32                    // rows per dW1 shared-memory tile
#define GXS (GD + 4)             // row stride of the staged f32 feature tile (16-byte aligned)
#define GX_CH (GR * GD / 8 / GT) // 16-byte feature chunks each thread loads per tile
#define GU_CH (GR * HC / GT)     // activations each thread loads per tile

// The two halves of a 32-bit word (low half first) as floats.
__device__ __forceinline__ float2 h2f2(unsigned int w) {
    return make_float2(h2f((unsigned short)(w & 0xffffu)), h2f((unsigned short)(w >> 16)));
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

// ---------------------------------------------------------------------------------------------------------------
// Forward pass

struct FwdTile {
    uint4 x[FWD_XCH];
    float4 w[FWD_WCH];
};

// Chunk k of this thread: feature part (8 features) and row of the tile. A warp covers 32 consecutive rows of one
// part, so the transposed stores into shared memory hit 32 different banks.
__device__ __forceinline__ int fwd_part(int k) { return (threadIdx.x + k * FT) / FWD_ROWS; }
__device__ __forceinline__ int fwd_row(int k) { return (threadIdx.x + k * FT) % FWD_ROWS; }

__device__ __forceinline__ void fwd_fetch(FwdTile& t, const unsigned short* __restrict__ X, const float* __restrict__ w1,
                                          size_t row0, unsigned int N, int D, int Hp, int d0, int j0, bool vec) {
#pragma unroll
    for (int k = 0; k < FWD_XCH; ++k) {
        const size_t n = row0 + fwd_row(k);
        t.x[k] = n < N ? load_x8(X, n, D, d0 + fwd_part(k) * 8, vec) : make_uint4(0u, 0u, 0u, 0u);
    }
#pragma unroll
    for (int k = 0; k < FWD_WCH; ++k) {
        const int q = threadIdx.x + k * FT;
        const int dd = q / (HC / 4), part = q % (HC / 4);
        const int d = d0 + dd;
        t.w[k] = d < D ? *reinterpret_cast<const float4*>(w1 + (size_t)d * Hp + j0 + part * 4)
                       : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
}

// Scores of N rows (masked: -inf); with has_hid != 0 also the post-ReLU activations hid[N][Hp].
// Thread t computes rows (t/4)*TR .. +TR of the block's tile against hidden units (t%4)*TJ .. +TJ of the chunk.
extern "C" __global__ void __launch_bounds__(FT, 4) policy_forward(
    const unsigned short* __restrict__ X, const unsigned char* __restrict__ mask, const float* __restrict__ w1,
    const float* __restrict__ b1, const float* __restrict__ w2, unsigned int N, int D, int Hp, int vec,
    float* __restrict__ scores, int has_hid, float* __restrict__ hid) {
    // features of the tile as f32, transposed: xs[dd][row]; reused by the epilogue for w2_j * h_j of [row][j]
    __shared__ __align__(16) float xs[DT * FWD_ROWS];
    __shared__ __align__(16) float ws[DT * HC];
    const size_t row0 = (size_t)blockIdx.x * FWD_ROWS;
    const int rg = threadIdx.x / (HC / TJ), cg = threadIdx.x % (HC / TJ);
    const int nd = (D + DT - 1) / DT;
    const int tiles = (Hp / HC) * nd;

    float acc[TR][TJ];
    float s0 = 0.0f;  // score of row threadIdx.x
    FwdTile t;
    fwd_fetch(t, X, w1, row0, N, D, Hp, 0, 0, vec != 0);
    for (int tile = 0; tile < tiles; ++tile) {
        const int j0 = (tile / nd) * HC, dc = tile % nd, d0 = dc * DT;
        __syncthreads();  // everyone is done with the previous tile (and the epilogue's products)
#pragma unroll
        for (int k = 0; k < FWD_XCH; ++k) {
            const int row = fwd_row(k), dd0 = fwd_part(k) * 8;
            const float2 a = h2f2(t.x[k].x), b = h2f2(t.x[k].y), c = h2f2(t.x[k].z), d = h2f2(t.x[k].w);
            xs[(dd0 + 0) * FWD_ROWS + row] = a.x;
            xs[(dd0 + 1) * FWD_ROWS + row] = a.y;
            xs[(dd0 + 2) * FWD_ROWS + row] = b.x;
            xs[(dd0 + 3) * FWD_ROWS + row] = b.y;
            xs[(dd0 + 4) * FWD_ROWS + row] = c.x;
            xs[(dd0 + 5) * FWD_ROWS + row] = c.y;
            xs[(dd0 + 6) * FWD_ROWS + row] = d.x;
            xs[(dd0 + 7) * FWD_ROWS + row] = d.y;
        }
#pragma unroll
        for (int k = 0; k < FWD_WCH; ++k) reinterpret_cast<float4*>(ws)[threadIdx.x + k * FT] = t.w[k];
        __syncthreads();
        if (tile + 1 < tiles) {  // in flight while this tile is multiplied
            const int nt = tile + 1;
            fwd_fetch(t, X, w1, row0, N, D, Hp, (nt % nd) * DT, (nt / nd) * HC, vec != 0);
        }
        if (dc == 0) {
#pragma unroll
            for (int i = 0; i < TJ; ++i) {
                const float bj = b1[j0 + cg * TJ + i];
#pragma unroll
                for (int r = 0; r < TR; ++r) acc[r][i] = bj;
            }
        }
        const int dn = min(DT, D - d0);
#pragma unroll 4
        for (int dd = 0; dd < dn; ++dd) {
            const float4 xa = *reinterpret_cast<const float4*>(xs + dd * FWD_ROWS + rg * TR);
            const float4 wa = *reinterpret_cast<const float4*>(ws + dd * HC + cg * TJ);
            const float4 wb = *reinterpret_cast<const float4*>(ws + dd * HC + cg * TJ + 4);
            const float x[TR] = {xa.x, xa.y, xa.z, xa.w};
            const float w[TJ] = {wa.x, wa.y, wa.z, wa.w, wb.x, wb.y, wb.z, wb.w};
#pragma unroll
            for (int r = 0; r < TR; ++r)
#pragma unroll
                for (int i = 0; i < TJ; ++i) acc[r][i] = fmaf(x[r], w[i], acc[r][i]);
        }
        if (dc == nd - 1) {  // this hidden chunk is complete: ReLU, activations, then the score terms in order
#pragma unroll
            for (int r = 0; r < TR; ++r)
#pragma unroll
                for (int i = 0; i < TJ; ++i) acc[r][i] = fmaxf(acc[r][i], 0.0f);
            if (has_hid) {
#pragma unroll
                for (int r = 0; r < TR; ++r) {
                    const size_t n = row0 + rg * TR + r;
                    if (n < N) {
                        float* dst = hid + n * Hp + j0 + cg * TJ;
                        *reinterpret_cast<float4*>(dst) = make_float4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
                        *reinterpret_cast<float4*>(dst + 4) = make_float4(acc[r][4], acc[r][5], acc[r][6], acc[r][7]);
                    }
                }
            }
            __syncthreads();  // xs is free: stage w2_j * h_j as [row][j], j swizzled by the row against conflicts
#pragma unroll
            for (int r = 0; r < TR; ++r) {
                const int row = rg * TR + r;
#pragma unroll
                for (int i = 0; i < TJ; ++i) {
                    const int j = cg * TJ + i;
                    xs[row * HC + (j ^ (row & 31))] = __fmul_rn(w2[j0 + j], acc[r][i]);
                }
            }
            __syncthreads();
            // the CPU's order: ascending j, one rounding per addition
            const int ra = threadIdx.x;
#pragma unroll 8
            for (int j = 0; j < HC; ++j) s0 = __fadd_rn(s0, xs[ra * HC + (j ^ (ra & 31))]);
        }
    }
    const size_t na = row0 + threadIdx.x;
    if (na < N) scores[na] = mask[na] ? s0 : (-AW_INF);
}

// ---------------------------------------------------------------------------------------------------------------
// Per-state softmax (one warp per state)

__device__ __forceinline__ float warp_sum_f(float v) {
    for (int o = 16; o > 0; o >>= 1) v = __fadd_rn(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

__device__ __forceinline__ float warp_max_f(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

struct RowStats {
    int n;
    float m, z, lnz, ent;
};

// Masked softmax statistics of the row at temperature factor tau: valid count, max logit, partition function,
// its log and the entropy. Every lane gets the same values.
__device__ RowStats warp_row_stats(const float* __restrict__ sc, const unsigned char* __restrict__ mk, int K,
                                   float tau, int lane) {
    RowStats r;
    float m = (-AW_INF);
    int n = 0;
    for (int k = lane; k < K; k += 32) {
        if (mk[k]) {
            m = fmaxf(m, __fmul_rn(sc[k], tau));
            n += 1;
        }
    }
    r.m = warp_max_f(m);
    for (int o = 16; o > 0; o >>= 1) n += __shfl_xor_sync(FULL_MASK, n, o);
    r.n = n;
    r.z = 0.0f;
    r.lnz = 0.0f;
    r.ent = 0.0f;
    if (n == 0) return r;
    float z = 0.0f, sz = 0.0f;
    for (int k = lane; k < K; k += 32) {
        if (mk[k]) {
            const float zc = __fsub_rn(__fmul_rn(sc[k], tau), r.m);
            const float v = expf(zc);
            z = __fadd_rn(z, v);
            sz = __fadd_rn(sz, __fmul_rn(v, zc));
        }
    }
    r.z = warp_sum_f(z);
    sz = warp_sum_f(sz);
    r.lnz = logf(r.z);
    r.ent = fmaxf(__fsub_rn(r.lnz, sz / r.z), 0.0f);
    return r;
}

// One decision per state from the scores of policy_forward; blockDim a multiple of 32, one warp per state.
extern "C" __global__ void policy_sample_rows(const float* __restrict__ scores, const unsigned char* __restrict__ mask,
                                              unsigned int B, int K, const unsigned long long* __restrict__ episode,
                                              const unsigned long long* __restrict__ step, unsigned long long seed,
                                              float tau, int greedy, int* __restrict__ chosen,
                                              float* __restrict__ logp, float* __restrict__ ent) {
    const unsigned int b = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (b >= B) return;  // uniform across the warp
    const float* sc = scores + (size_t)b * K;
    const unsigned char* mk = mask + (size_t)b * K;
    const RowStats r = warp_row_stats(sc, mk, K, tau, lane);
    if (r.n == 0) {
        if (lane == 0) {
            chosen[b] = -1;
            logp[b] = 0.0f;
            ent[b] = 0.0f;
        }
        return;
    }
    int pick = -1;
    if (greedy) {
        // first maximal valid score (ties go to the lower index, like the CPU's strict '>')
        float best = (-AW_INF);
        int at = 0x7fffffff;
        for (int k = lane; k < K; k += 32) {
            if (mk[k] && (at == 0x7fffffff || sc[k] > best)) {
                best = sc[k];
                at = k;
            }
        }
        for (int o = 16; o > 0; o >>= 1) {
            const float ob = __shfl_xor_sync(FULL_MASK, best, o);
            const int oa = __shfl_xor_sync(FULL_MASK, at, o);
            if (oa != 0x7fffffff && (at == 0x7fffffff || ob > best || (ob == best && oa < at))) {
                best = ob;
                at = oa;
            }
        }
        pick = at;
    } else {
        // first valid k whose cumulative weight exceeds u * z (the last valid slot if rounding leaves none)
        const float target = __fmul_rn(key_uniform(seed, episode[b], step[b]), r.z);
        float base = 0.0f;
        for (int k0 = 0; k0 < K && pick < 0; k0 += 32) {
            const int k = k0 + lane;
            const bool ok = k < K && mk[k];
            float v = ok ? expf(__fsub_rn(__fmul_rn(sc[k], tau), r.m)) : 0.0f;
            for (int o = 1; o < 32; o <<= 1) {
                const float y = __shfl_up_sync(FULL_MASK, v, o);
                if (lane >= o) v = __fadd_rn(v, y);
            }
            const unsigned int hit = __ballot_sync(FULL_MASK, ok && target < __fadd_rn(base, v));
            if (hit != 0u) {
                pick = k0 + __ffs(hit) - 1;
                break;
            }
            const unsigned int oks = __ballot_sync(FULL_MASK, ok);
            if (oks != 0u && k0 + 32 >= K) pick = k0 + 31 - __clz(oks);  // nothing hit in the last chunk
            base = __fadd_rn(base, __shfl_sync(FULL_MASK, v, 31));
        }
        if (pick < 0) {  // the last chunk held no valid slot: take the last valid one
            for (int k = K - 1; k >= 0; --k) {
                if (mk[k]) {
                    pick = k;
                    break;
                }
            }
        }
    }
    if (lane == 0) {
        chosen[b] = pick;
        logp[b] = __fsub_rn(__fsub_rn(__fmul_rn(sc[pick], tau), r.m), r.lnz);
        ent[b] = r.ent;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Policy gradient

// g[n] = dL/ds_n for every row and the state's loss; rows of states with chosen < 0 (and masked rows) get 0.
extern "C" __global__ void policy_grad_rows(const float* __restrict__ scores, const unsigned char* __restrict__ mask,
                                            unsigned int B, int K, const int* __restrict__ chosen,
                                            const float* __restrict__ adv, float tau, float beta, float scale,
                                            float* __restrict__ g, float* __restrict__ loss) {
    const unsigned int b = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (b >= B) return;  // uniform across the warp
    const float* sc = scores + (size_t)b * K;
    const unsigned char* mk = mask + (size_t)b * K;
    float* gr = g + (size_t)b * K;
    const int a = chosen[b];
    const RowStats r = a >= 0 ? warp_row_stats(sc, mk, K, tau, lane) : RowStats{0, 0.0f, 0.0f, 0.0f, 0.0f};
    if (a < 0 || r.n == 0) {
        for (int k = lane; k < K; k += 32) gr[k] = 0.0f;
        if (lane == 0) loss[b] = 0.0f;
        return;
    }
    const float av = adv[b];
    if (lane == 0) {
        const float logp_a = __fsub_rn(__fsub_rn(__fmul_rn(sc[a], tau), r.m), r.lnz);
        loss[b] = -scale * __fadd_rn(__fmul_rn(av, logp_a), __fmul_rn(beta, r.ent));
    }
    const float coef = __fmul_rn(-scale, tau);
    for (int k = lane; k < K; k += 32) {
        float gk = 0.0f;
        if (mk[k]) {
            const float lp = __fsub_rn(__fsub_rn(__fmul_rn(sc[k], tau), r.m), r.lnz);
            const float p = expf(lp);
            const float onehot = k == a ? 1.0f : 0.0f;
            const float t1 = __fmul_rn(av, __fsub_rn(onehot, p));
            const float t2 = __fmul_rn(__fmul_rn(beta, p), __fadd_rn(lp, r.ent));
            gk = __fmul_rn(coef, __fsub_rn(t1, t2));
        }
        gr[k] = gk;
    }
}

struct GradTile {
    uint4 x[GX_CH];
    float h[GU_CH];
    float g[GU_CH];
};

__device__ __forceinline__ void grad_fetch(GradTile& t, const unsigned short* __restrict__ X,
                                           const float* __restrict__ hid, const float* __restrict__ g, size_t r0,
                                           size_t r1, int D, int Hp, int dbase, int j0, bool vec) {
#pragma unroll
    for (int k = 0; k < GX_CH; ++k) {
        const int c = threadIdx.x + k * GT;
        const int row = c / (GD / 8), part = c % (GD / 8);
        const size_t n = r0 + row;
        // rows with g = 0 (masked, or states without a decision) contribute nothing: zero them so that
        // non-finite features there cannot leak in as 0 * inf
        t.x[k] = n < r1 && g[n] != 0.0f ? load_x8(X, n, D, dbase + part * 8, vec) : make_uint4(0u, 0u, 0u, 0u);
    }
#pragma unroll
    for (int k = 0; k < GU_CH; ++k) {
        const int c = threadIdx.x + k * GT;
        const int row = c / HC, j = c % HC;
        const size_t n = r0 + row;
        t.g[k] = n < r1 ? g[n] : 0.0f;
        t.h[k] = n < r1 ? hid[n * Hp + j0 + j] : 0.0f;
    }
}

// Row c of partial ((D + 2) x Hp floats) holds, over the rows n of chunk c: sum x_nd U_nj at [d][j] (U_nj = g_n w2_j
// [h_nj > 0]) and, written by the first feature tile, sum U_nj at [D][j] and sum g_n h_nj at [D + 1][j]; one
// reduce_rows over the chunks then gives dW1, db1 and dw2 laid out as the gradient is. Grid: (row chunks, feature
// tiles of GD, hidden chunks of HC). Thread t owns features dbase + (t/4)*GTD .. +GTD and hidden units
// j0 + (t%4)*8 .. +8.
extern "C" __global__ void __launch_bounds__(GT, 4) policy_grad_w1_partial(
    const unsigned short* __restrict__ X, const float* __restrict__ hid, const float* __restrict__ g,
    const float* __restrict__ w2, unsigned int N, int D, int Hp, int vec, unsigned int rows_per_chunk,
    float* __restrict__ partial) {
    __shared__ __align__(16) float xs[GR * GXS];  // features of the tile as f32, [row][d]
    __shared__ __align__(16) float us[GR * HC];
    __shared__ float ghs[GR * HC];
    __shared__ float red[2][GT];
    const size_t r0 = (size_t)blockIdx.x * rows_per_chunk;
    const size_t r1 = min(r0 + rows_per_chunk, (size_t)N);
    const int dbase = blockIdx.y * GD;
    const int j0 = blockIdx.z * HC;
    const int dg = threadIdx.x / 4, jg = threadIdx.x % 4;
    const int rj = threadIdx.x % HC;  // the hidden unit this thread sums db1/dw2 for

    float acc[GTD][8];
#pragma unroll
    for (int a = 0; a < GTD; ++a)
#pragma unroll
        for (int b = 0; b < 8; ++b) acc[a][b] = 0.0f;
    float sb1 = 0.0f, sw2 = 0.0f;
    const int tiles = (int)((r1 - r0 + GR - 1) / GR);
    GradTile t;
    if (tiles > 0) grad_fetch(t, X, hid, g, r0, r1, D, Hp, dbase, j0, vec != 0);
    for (int tile = 0; tile < tiles; ++tile) {
        __syncthreads();
#pragma unroll
        for (int k = 0; k < GX_CH; ++k) {
            const int c = threadIdx.x + k * GT;
            const int row = c / (GD / 8), part = c % (GD / 8);
            const float2 f0 = h2f2(t.x[k].x), f1 = h2f2(t.x[k].y), f2 = h2f2(t.x[k].z), f3 = h2f2(t.x[k].w);
            *reinterpret_cast<float4*>(xs + row * GXS + part * 8) = make_float4(f0.x, f0.y, f1.x, f1.y);
            *reinterpret_cast<float4*>(xs + row * GXS + part * 8 + 4) = make_float4(f2.x, f2.y, f3.x, f3.y);
        }
#pragma unroll
        for (int k = 0; k < GU_CH; ++k) {
            const int c = threadIdx.x + k * GT;
            const int j = c % HC;
            const float h = t.h[k], gn = t.g[k];
            us[c] = gn != 0.0f && h > 0.0f ? __fmul_rn(gn, w2[j0 + j]) : 0.0f;
            ghs[c] = gn != 0.0f ? __fmul_rn(gn, h) : 0.0f;
        }
        __syncthreads();
        if (tile + 1 < tiles) grad_fetch(t, X, hid, g, r0 + (size_t)(tile + 1) * GR, r1, D, Hp, dbase, j0, vec != 0);
        const int rows = (int)min((size_t)GR, r1 - r0 - (size_t)tile * GR);
#pragma unroll 2
        for (int row = 0; row < rows; ++row) {
            const float4 xa = *reinterpret_cast<const float4*>(xs + row * GXS + dg * GTD);
            const float x[GTD] = {xa.x, xa.y, xa.z, xa.w};
            const float4 ua = *reinterpret_cast<const float4*>(us + row * HC + jg * 8);
            const float4 ub = *reinterpret_cast<const float4*>(us + row * HC + jg * 8 + 4);
            const float u[8] = {ua.x, ua.y, ua.z, ua.w, ub.x, ub.y, ub.z, ub.w};
#pragma unroll
            for (int a = 0; a < GTD; ++a)
#pragma unroll
                for (int b = 0; b < 8; ++b) acc[a][b] = fmaf(x[a], u[b], acc[a][b]);
        }
        for (int row = threadIdx.x / HC; row < rows; row += GT / HC) {
            sb1 += us[row * HC + rj];
            sw2 += ghs[row * HC + rj];
        }
    }
    // this chunk's row of partials: dW1 (D x Hp), then db1 (Hp), then dw2 (Hp)
    float* out = partial + (size_t)blockIdx.x * (D + 2) * Hp;
#pragma unroll
    for (int a = 0; a < GTD; ++a) {
        const int d = dbase + dg * GTD + a;
        if (d < D) {
            *reinterpret_cast<float4*>(out + (size_t)d * Hp + j0 + jg * 8) =
                make_float4(acc[a][0], acc[a][1], acc[a][2], acc[a][3]);
            *reinterpret_cast<float4*>(out + (size_t)d * Hp + j0 + jg * 8 + 4) =
                make_float4(acc[a][4], acc[a][5], acc[a][6], acc[a][7]);
        }
    }
    if (blockIdx.y == 0) {  // one feature tile writes the chunk's db1 / dw2 partials
        store_bias_partials(sb1, sw2, &red[0][0], HC, out + (size_t)D * Hp + j0, out + (size_t)(D + 1) * Hp + j0);
    }
}

// out[c] = sum over r of partial[r][c]. A block owns RR_COLS consecutive columns (each warp load is one coalesced
// 128-byte row slice) and RR_WARPS warps: warp w sums rows w, w + RR_WARPS, ... in ascending order, four loads in
// flight at a time, and the warps' sums are added in warp order, so the result is the same on every run. (One
// thread per column summing every row put only 264 warps on the GPU: 46 us for the 2,048 chunks of B = 8192.)
#define RR_COLS 32
#define RR_WARPS 8

extern "C" __global__ void __launch_bounds__(RR_COLS * RR_WARPS) reduce_rows(const float* __restrict__ partial,
                                                                           unsigned int rows, unsigned int cols,
                                                                           float* __restrict__ out) {
    __shared__ float red[RR_WARPS][RR_COLS];
    const unsigned int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    const unsigned int c = blockIdx.x * RR_COLS + lane;
    float s = 0.0f;
    if (c < cols) {
        unsigned int r = w;
        for (; r + 3 * RR_WARPS < rows; r += 4 * RR_WARPS) {
            const float a0 = partial[(size_t)r * cols + c];
            const float a1 = partial[(size_t)(r + RR_WARPS) * cols + c];
            const float a2 = partial[(size_t)(r + 2 * RR_WARPS) * cols + c];
            const float a3 = partial[(size_t)(r + 3 * RR_WARPS) * cols + c];
            s = __fadd_rn(__fadd_rn(__fadd_rn(__fadd_rn(s, a0), a1), a2), a3);
        }
        for (; r < rows; r += RR_WARPS) s = __fadd_rn(s, partial[(size_t)r * cols + c]);
    }
    red[w][lane] = s;
    __syncthreads();
    if (w == 0 && c < cols) {
        float t = red[0][lane];
#pragma unroll
        for (int k = 1; k < RR_WARPS; ++k) t = __fadd_rn(t, red[k][lane]);
        out[c] = t;
    }
}

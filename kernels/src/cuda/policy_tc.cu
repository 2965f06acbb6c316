// Tensor-core forward pass of the policy network (sm_80 and later; compiled for compute_80 and loaded only on such
// devices). Same contract as policy_forward in policy.cu, which stays the path for older GPUs and for weights
// outside the f16 range.
//
// Maths: features are f16 already, so they enter mma.sync exactly. W1 (f32) arrives split in two f16 matrices,
// hi = f16(W1) and lo = f16(W1 - hi), so hi + lo carries ~22 bits of W1's 24-bit significand; each product of two
// f16 is exact in the f32 accumulator, and x*W1 = x*hi + x*lo up to f32 accumulation rounding. Pre-activations thus
// agree with the CPU's f32 FMA chain to a few ulps (not bit for bit: the tensor cores sum in their own order). The
// score sum after the ReLU keeps the CPU's order: ascending j, one rounding per addition.
//
// Tiling: a block of 4 warps owns TC_ROWS rows; each warp computes 32 rows x 32 hidden units as 2 x 4 tiles of
// m16n8k16 (f32 accumulators in registers), over features staged TC_DT at a time in shared memory (rows padded to
// TC_S halves so every fragment load hits 32 different banks); the next tile is fetched into registers while the
// current one is multiplied.

#define TC_HC 32                                    // hidden units per block tile
#define TC_THREADS 128                              // 4 warps
#define TC_ROWS 128                                 // 32 rows per warp
#define TC_DT 32                                    // features per tile: two k16 steps
#define TC_S 40                                     // staged row stride in halves (20 words)
#define TC_XCH (TC_ROWS * TC_DT / 8 / TC_THREADS)   // 16-byte feature chunks per thread per tile
#define TC_WCH (2 * TC_HC * TC_DT / 8 / TC_THREADS) // 16-byte weight chunks (hi and lo) per thread per tile
#define TC_PS (TC_ROWS + 4)                         // row stride of the score-term staging

// c += a (16x16 f16, row-major fragment) * b (16x8 f16, column-major fragment), f32 accumulate.
__device__ __forceinline__ void mma_16816(float* c, const unsigned int* a, unsigned int b0, unsigned int b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

struct TcTile {
    uint4 x[TC_XCH];
    uint4 w[TC_WCH];
};

// W1 halves are [Hp][Dp] (hidden-major, features padded with zeros to Dp, a multiple of 8).
__device__ __forceinline__ void tc_fetch(TcTile& t, const unsigned short* __restrict__ X,
                                         const unsigned short* __restrict__ whi, const unsigned short* __restrict__ wlo,
                                         size_t row0, unsigned int N, int D, int Dp, int d0, int j0, bool vec) {
#pragma unroll
    for (int k = 0; k < TC_XCH; ++k) {
        const int c = threadIdx.x + k * TC_THREADS;
        const int row = c / (TC_DT / 8), part = c % (TC_DT / 8);
        const size_t n = row0 + row;
        t.x[k] = n < N ? load_x8(X, n, D, d0 + part * 8, vec) : make_uint4(0u, 0u, 0u, 0u);
    }
#pragma unroll
    for (int k = 0; k < TC_WCH; ++k) {
        const int c = threadIdx.x + k * TC_THREADS;
        const int half = c / (TC_HC * TC_DT / 8), cc = c % (TC_HC * TC_DT / 8);
        const int j = cc / (TC_DT / 8), part = cc % (TC_DT / 8);
        const int d = d0 + part * 8;
        const unsigned short* src = (half ? wlo : whi) + (size_t)(j0 + j) * Dp + d;
        t.w[k] = d < Dp ? *reinterpret_cast<const uint4*>(src) : make_uint4(0u, 0u, 0u, 0u);
    }
}

// Scores of N rows (masked: -inf); with has_hid != 0 also the post-ReLU activations hid[N][Hp].
extern "C" __global__ void __launch_bounds__(TC_THREADS) policy_forward_tc(
    const unsigned short* __restrict__ X, const unsigned char* __restrict__ mask,
    const unsigned short* __restrict__ whi, const unsigned short* __restrict__ wlo, int Dp,
    const float* __restrict__ b1, const float* __restrict__ w2, unsigned int N, int D, int Hp, int vec,
    float* __restrict__ scores, int has_hid, float* __restrict__ hid) {
    __shared__ __align__(16) unsigned short xs[TC_ROWS * TC_S];
    __shared__ __align__(16) unsigned short ws[2 * TC_HC * TC_S];
    __shared__ float ps[TC_HC * TC_PS];  // w2_j * h_j as [j][row], rows padded so both the fragment-order
                                         // stores and the per-row reads hit 32 banks
    const unsigned int* xw = reinterpret_cast<const unsigned int*>(xs);
    const unsigned int* ww = reinterpret_cast<const unsigned int*>(ws);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tg = lane & 3;
    const size_t row0 = (size_t)blockIdx.x * TC_ROWS;
    const int nd = (D + TC_DT - 1) / TC_DT;
    const int tiles = (Hp / TC_HC) * nd;

    float acc[2][4][4];
    float s0 = 0.0f;  // score of row threadIdx.x
    TcTile t;
    tc_fetch(t, X, whi, wlo, row0, N, D, Dp, 0, 0, vec != 0);
    for (int tile = 0; tile < tiles; ++tile) {
        const int j0 = (tile / nd) * TC_HC, dc = tile % nd;
        __syncthreads();  // everyone is done with the previous tile
#pragma unroll
        for (int k = 0; k < TC_XCH; ++k) {
            const int c = threadIdx.x + k * TC_THREADS;
            const int row = c / (TC_DT / 8), part = c % (TC_DT / 8);
            *reinterpret_cast<uint4*>(xs + row * TC_S + part * 8) = t.x[k];
        }
#pragma unroll
        for (int k = 0; k < TC_WCH; ++k) {
            const int c = threadIdx.x + k * TC_THREADS;
            const int half = c / (TC_HC * TC_DT / 8), cc = c % (TC_HC * TC_DT / 8);
            const int j = cc / (TC_DT / 8), part = cc % (TC_DT / 8);
            *reinterpret_cast<uint4*>(ws + (half * TC_HC + j) * TC_S + part * 8) = t.w[k];
        }
        __syncthreads();
        if (tile + 1 < tiles) {  // in flight while this tile is multiplied
            const int nt = tile + 1;
            tc_fetch(t, X, whi, wlo, row0, N, D, Dp, (nt % nd) * TC_DT, (nt / nd) * TC_HC, vec != 0);
        }
        if (dc == 0) {
#pragma unroll
            for (int n = 0; n < 4; ++n) {
                const float b_even = b1[j0 + n * 8 + 2 * tg], b_odd = b1[j0 + n * 8 + 2 * tg + 1];
#pragma unroll
                for (int m = 0; m < 2; ++m) {
                    acc[m][n][0] = b_even;
                    acc[m][n][1] = b_odd;
                    acc[m][n][2] = b_even;
                    acc[m][n][3] = b_odd;
                }
            }
        }
#pragma unroll
        for (int ks = 0; ks < TC_DT / 16; ++ks) {
            const int kw = ks * 8 + tg;  // word of this lane's k pair within the staged row
            unsigned int a[2][4];
#pragma unroll
            for (int m = 0; m < 2; ++m) {
                const int r = warp * 32 + m * 16 + g;
                a[m][0] = xw[r * (TC_S / 2) + kw];
                a[m][1] = xw[(r + 8) * (TC_S / 2) + kw];
                a[m][2] = xw[r * (TC_S / 2) + kw + 4];
                a[m][3] = xw[(r + 8) * (TC_S / 2) + kw + 4];
            }
#pragma unroll
            for (int n = 0; n < 4; ++n) {
#pragma unroll
                for (int half = 0; half < 2; ++half) {
                    const int base = (half * TC_HC + n * 8 + g) * (TC_S / 2) + kw;
                    const unsigned int b0 = ww[base], b1v = ww[base + 4];
#pragma unroll
                    for (int m = 0; m < 2; ++m) mma_16816(acc[m][n], a[m], b0, b1v);
                }
            }
        }
        if (dc == nd - 1) {  // this hidden chunk is complete: ReLU, activations, then the score terms in order
#pragma unroll
            for (int m = 0; m < 2; ++m) {
#pragma unroll
                for (int hr = 0; hr < 2; ++hr) {  // fragment rows g and g + 8
                    const int row = warp * 32 + m * 16 + g + hr * 8;
                    const size_t nrow = row0 + row;
#pragma unroll
                    for (int n = 0; n < 4; ++n) {
                        const int j = n * 8 + 2 * tg;
                        const float h0 = fmaxf(acc[m][n][2 * hr], 0.0f), h1 = fmaxf(acc[m][n][2 * hr + 1], 0.0f);
                        if (has_hid && nrow < N)
                            *reinterpret_cast<float2*>(hid + nrow * Hp + j0 + j) = make_float2(h0, h1);
                        ps[j * TC_PS + row] = __fmul_rn(w2[j0 + j], h0);
                        ps[(j + 1) * TC_PS + row] = __fmul_rn(w2[j0 + j + 1], h1);
                    }
                }
            }
            __syncthreads();
            const int r = threadIdx.x;
#pragma unroll 8
            for (int j = 0; j < TC_HC; ++j) s0 = __fadd_rn(s0, ps[j * TC_PS + r]);
        }
    }
    const size_t n = row0 + threadIdx.x;
    if (n < N) scores[n] = mask[n] ? s0 : (-AW_INF);
}

// ---------------------------------------------------------------------------------------------------------------
// dW1 on tensor cores: the partial sums over the rows n of chunk c of x_nd U_nj, U_nj = g_n w2_j [h_nj > 0], plus
// the chunk's partial db1 (sum U_nj) and dw2 (sum g_n h_nj) from the first feature tile (in f32, on the CUDA
// cores), in the same (D + 2) x Hp row layout as policy_grad_w1_partial in policy.cu.
//
// Maths: features are f16 already and enter mma.sync exactly. U's magnitude follows the advantages and can sit
// below f16's range, so each block scales its chunk by a power of two, 2^k with k chosen so that the bound
// max|g_n| * max|w2_j| lands in [2^14, 2^15) (exact, and undone on the f32 sums at the end), and splits the scaled
// U into three f16 (u1 + u2 + u3, ~33 bits near the bound; anything below 2^-39 of the bound is lost). Every f16
// product is exact in the f32 accumulator, so the sums agree with the CPU's f32 maths to a few ulps.
//
// Tiling: a block of 4 warps owns TG_D features x 32 hidden units of the output and loops over its chunk of rows
// TG_R at a time; each warp computes 32 features x 32 hidden units (2 x 4 m16n8k16 tiles). Features are staged as
// [row][d] and U as [row][j] (consecutive threads writing consecutive halves), both read transposed by
// ldmatrix.trans.
#define TG_THREADS 128
#define TG_D 128                              // features per block
#define TG_R 32                               // rows per staged tile (two k16 steps)
#define TG_SX (TG_D + 8)                      // staged feature row stride in halves (272 bytes: conflict-free)
#define TG_SU (TC_HC + 8)                     // staged U row stride in halves (80 bytes: conflict-free)
#define TG_XCH (TG_R * TG_D / 8 / TG_THREADS) // 16-byte feature chunks per thread per tile
#define TG_UCH (TG_R * TC_HC / TG_THREADS)    // U entries per thread per tile

__device__ __forceinline__ unsigned short f2h(float f) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

// 2^k as a float, k in [-126, 127].
__device__ __forceinline__ float pow2(int k) { return __int_as_float((k + 127) << 23); }

__device__ __forceinline__ void ldsm_x4_trans(unsigned int* r, const void* p) {
    const unsigned int a = (unsigned int)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

struct TgTile {
    uint4 x[TG_XCH];
};

__device__ __forceinline__ void tg_fetch(TgTile& t, const unsigned short* __restrict__ X, size_t r0, size_t r1, int D,
                                         int dbase, bool vec) {
#pragma unroll
    for (int k = 0; k < TG_XCH; ++k) {
        const int c = threadIdx.x + k * TG_THREADS;
        const int row = c / (TG_D / 8), part = c % (TG_D / 8);
        const size_t n = r0 + row;
        t.x[k] = n < r1 ? load_x8(X, n, D, dbase + part * 8, vec) : make_uint4(0u, 0u, 0u, 0u);
    }
}

// 16 bytes from global to shared memory without passing through registers (sm_80+); bytes < 16 zero-fills the rest.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int bytes) {
    const unsigned int d = (unsigned int)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(d), "l"(src), "r"(bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;"); }

// Waits until at most one group of this thread's copies is still in flight.
__device__ __forceinline__ void cp_async_wait_all_but_one() { asm volatile("cp.async.wait_group 1;"); }

// Starts copying the activations (TG_R rows x TC_HC) and g of the rows base.. into hs / gs; rows past r1 read as 0.
__device__ __forceinline__ void tg_fetch_u(float* hs, float* gs, const float* __restrict__ hid,
                                           const float* __restrict__ g, size_t base, size_t r1, int Hp, int j0) {
#pragma unroll
    for (int k = 0; k < TG_R * TC_HC / 4 / TG_THREADS; ++k) {
        const int c = threadIdx.x + k * TG_THREADS;
        const int row = c / (TC_HC / 4), part = c % (TC_HC / 4);
        const size_t n = base + row;
        cp_async16(hs + row * TC_HC + part * 4, n < r1 ? hid + n * Hp + j0 + part * 4 : hid, n < r1 ? 16 : 0);
    }
    if (threadIdx.x < TG_R / 4) {  // g is 16-byte aligned here: base is a multiple of TG_R
        const size_t n = base + threadIdx.x * 4;
        const int rows = n < r1 ? (int)min((size_t)4, r1 - n) : 0;
        cp_async16(gs + threadIdx.x * 4, rows > 0 ? g + n : g, 4 * rows);
    }
}

__device__ __forceinline__ float block_max(float v, float* red) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
    __syncthreads();
    float m = red[0];
    for (int w = 1; w < TG_THREADS / 32; ++w) m = fmaxf(m, red[w]);
    __syncthreads();  // red is reused
    return m;
}

extern "C" __global__ void __launch_bounds__(TG_THREADS, 4) policy_grad_w1_tc(
    const unsigned short* __restrict__ X, const float* __restrict__ hid, const float* __restrict__ g,
    const float* __restrict__ w2, unsigned int N, int D, int Hp, int vec, unsigned int rows_per_chunk,
    float* __restrict__ partial) {
    __shared__ __align__(16) unsigned short xs[TG_R * TG_SX];     // features, [row][d]
    __shared__ __align__(16) unsigned short us[3][TG_R * TG_SU];  // f16 parts of the scaled U, [row][j]
    __shared__ __align__(16) float hs[2][TG_R * TC_HC];           // activations of the tile, [row][j]
    __shared__ __align__(16) float gs[2][TG_R];                   // g of the tile's rows
    __shared__ float red[2][TG_THREADS];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g4 = lane >> 2, tg = lane & 3;
    const size_t r0 = (size_t)blockIdx.x * rows_per_chunk;
    const size_t r1 = min(r0 + rows_per_chunk, (size_t)N);
    const int dbase = blockIdx.y * TG_D;
    const int j0 = blockIdx.z * TC_HC;
    const int q = lane >> 3, r8 = lane & 7;  // ldmatrix: the matrix and the row this lane addresses

    // the chunk's scale: max|U| <= max|g| * max|w2| lands in [2^14, 2^15)
    float gmax = 0.0f;
    for (size_t n = r0 + threadIdx.x; n < r1; n += TG_THREADS) gmax = fmaxf(gmax, fabsf(g[n]));
    float wmax = threadIdx.x < TC_HC ? fabsf(w2[j0 + threadIdx.x]) : 0.0f;
    gmax = block_max(gmax, red[0]);
    wmax = block_max(wmax, red[0]);
    const float bound = gmax * wmax;
    int k = 0;
    if (bound > 0.0f && bound < AW_INF) {
        const int e = ((__float_as_int(bound) >> 23) & 0xff) - 127;  // subnormal bounds read as 2^-127
        k = min(max(14 - e, -126), 126);
    }
    const float scale = pow2(k), unscale = pow2(-k);

    float acc[2][4][4];
#pragma unroll
    for (int m = 0; m < 2; ++m)
#pragma unroll
        for (int n = 0; n < 4; ++n)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[m][n][i] = 0.0f;
    float sb1 = 0.0f, sw2 = 0.0f;
    const int tiles = (int)((r1 - r0 + TG_R - 1) / TG_R);
    // pipeline: the next tile's activations and g travel by cp.async (no registers) and its features by a
    // register prefetch, both while the current tile is multiplied
    TgTile t;
    if (tiles > 0) {
        tg_fetch_u(hs[0], gs[0], hid, g, r0, r1, Hp, j0);
        tg_fetch(t, X, r0, r1, D, dbase, vec != 0);
    }
    cp_async_commit();
    for (int tile = 0; tile < tiles; ++tile) {
        const int cur = tile & 1;
        __syncthreads();  // everyone is done with the previous tile (and with the buffers the next copy fills)
        if (tile + 1 < tiles) tg_fetch_u(hs[cur ^ 1], gs[cur ^ 1], hid, g, r0 + (size_t)(tile + 1) * TG_R, r1, Hp, j0);
        cp_async_commit();
        cp_async_wait_all_but_one();  // this tile's copies have landed
        __syncthreads();              // ... everyone's
#pragma unroll
        for (int kk = 0; kk < TG_XCH; ++kk) {
            const int c = threadIdx.x + kk * TG_THREADS;
            const int row = c / (TG_D / 8), part = c % (TG_D / 8);
            // rows with g = 0 contribute nothing: zero them so non-finite features there cannot leak in as 0 * inf
            *reinterpret_cast<uint4*>(&xs[row * TG_SX + part * 8]) =
                gs[cur][row] != 0.0f ? t.x[kk] : make_uint4(0u, 0u, 0u, 0u);
        }
#pragma unroll
        for (int kk = 0; kk < TG_UCH; ++kk) {
            const int c = threadIdx.x + kk * TG_THREADS;
            const int row = c / TC_HC, j = c % TC_HC;
            const float h = hs[cur][row * TC_HC + j], gn = gs[cur][row];
            const float u = gn != 0.0f && h > 0.0f ? __fmul_rn(gn, w2[j0 + j]) : 0.0f;
            sb1 += u;
            sw2 += gn != 0.0f ? __fmul_rn(gn, h) : 0.0f;
            const float us0 = u * scale;  // a power of two: exact
            const unsigned short u1 = f2h(us0);
            const float e1 = us0 - h2f(u1);
            const unsigned short u2 = f2h(e1);
            const unsigned short u3 = f2h(e1 - h2f(u2));
            us[0][row * TG_SU + j] = u1;
            us[1][row * TG_SU + j] = u2;
            us[2][row * TG_SU + j] = u3;
        }
        __syncthreads();
        if (tile + 1 < tiles) tg_fetch(t, X, r0 + (size_t)(tile + 1) * TG_R, r1, D, dbase, vec != 0);
#pragma unroll 1  // unrolled, the two steps' fragments spill past 128 registers
        for (int ks = 0; ks < TG_R / 16; ++ks) {
            const int k0 = ks * 16;
            // A = X^T: 16 features x 16 rows per m-tile
            unsigned int a[2][4];
#pragma unroll
            for (int m = 0; m < 2; ++m) {
                const int row = k0 + (q >> 1) * 8 + r8, d = warp * 32 + m * 16 + (q & 1) * 8;
                ldsm_x4_trans(a[m], &xs[row * TG_SX + d]);
            }
            // B = U: 16 rows x 8 hidden units per n-tile, two n-tiles per ldmatrix, smallest part first
#pragma unroll
            for (int np = 0; np < 2; ++np) {
#pragma unroll
                for (int part = 2; part >= 0; --part) {
                    unsigned int b[4];
                    const int row = k0 + (q & 1) * 8 + r8, j = np * 16 + (q >> 1) * 8;
                    ldsm_x4_trans(b, &us[part][row * TG_SU + j]);
#pragma unroll
                    for (int nn = 0; nn < 2; ++nn)
#pragma unroll
                        for (int m = 0; m < 2; ++m) mma_16816(acc[m][np * 2 + nn], a[m], b[2 * nn], b[2 * nn + 1]);
                }
            }
        }
    }
    // this chunk's row of partials: dW1 (D x Hp, unscaled), then db1 (Hp), then dw2 (Hp)
    float* out = partial + (size_t)blockIdx.x * (D + 2) * Hp;
#pragma unroll
    for (int m = 0; m < 2; ++m)
#pragma unroll
        for (int hr = 0; hr < 2; ++hr) {
            const int d = dbase + warp * 32 + m * 16 + g4 + hr * 8;
            if (d < D) {
#pragma unroll
                for (int n = 0; n < 4; ++n)
                    *reinterpret_cast<float2*>(out + (size_t)d * Hp + j0 + n * 8 + 2 * tg) =
                        make_float2(acc[m][n][2 * hr] * unscale, acc[m][n][2 * hr + 1] * unscale);
            }
        }
    if (blockIdx.y == 0) {  // one feature tile writes the chunk's db1 / dw2 partials
        store_bias_partials(sb1, sw2, &red[0][0], TC_HC, out + (size_t)D * Hp + j0, out + (size_t)(D + 1) * Hp + j0);
    }
}

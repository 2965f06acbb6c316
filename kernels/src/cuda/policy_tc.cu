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

#define AW_INF __int_as_float(0x7f800000)

#define TC_HC 32                                    // hidden units per block tile
#define TC_THREADS 128                              // 4 warps
#define TC_ROWS 128                                 // 32 rows per warp
#define TC_DT 32                                    // features per tile: two k16 steps
#define TC_S 40                                     // staged row stride in halves (20 words)
#define TC_XCH (TC_ROWS * TC_DT / 8 / TC_THREADS)   // 16-byte feature chunks per thread per tile
#define TC_WCH (2 * TC_HC * TC_DT / 8 / TC_THREADS) // 16-byte weight chunks (hi and lo) per thread per tile

// Eight f16 features of row n from feature d (zeros past D); vec: D % 8 == 0, so the load is aligned.
__device__ __forceinline__ uint4 tc_load_x8(const unsigned short* __restrict__ X, size_t n, int D, int d, bool vec) {
    if (d >= D) return make_uint4(0u, 0u, 0u, 0u);
    if (vec) return *reinterpret_cast<const uint4*>(X + n * (size_t)D + d);
    unsigned int w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const unsigned int lo = d + 2 * i < D ? X[n * (size_t)D + d + 2 * i] : 0u;
        const unsigned int hi = d + 2 * i + 1 < D ? X[n * (size_t)D + d + 2 * i + 1] : 0u;
        w[i] = lo | (hi << 16);
    }
    return make_uint4(w[0], w[1], w[2], w[3]);
}

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
        t.x[k] = n < N ? tc_load_x8(X, n, D, d0 + part * 8, vec) : make_uint4(0u, 0u, 0u, 0u);
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
    __shared__ float ps[TC_ROWS * TC_HC];  // w2_j * h_j as [row][j ^ (row & 31)]
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
                        ps[row * TC_HC + (j ^ (row & 31))] = __fmul_rn(w2[j0 + j], h0);
                        ps[row * TC_HC + ((j + 1) ^ (row & 31))] = __fmul_rn(w2[j0 + j + 1], h1);
                    }
                }
            }
            __syncthreads();
            const int r = threadIdx.x;
#pragma unroll 8
            for (int j = 0; j < TC_HC; ++j) s0 = __fadd_rn(s0, ps[r * TC_HC + (j ^ (r & 31))]);
        }
    }
    const size_t n = row0 + threadIdx.x;
    if (n < N) scores[n] = mask[n] ? s0 : (-AW_INF);
}

// Optimiser kernels; twin of src/optim.rs, evaluated with the same roundings (no contraction into FMA), so the
// results equal the CPU's bit for bit.

extern "C" __global__ void adam_step(float* __restrict__ p, float* __restrict__ m, float* __restrict__ v,
                                     const float* __restrict__ g, unsigned int n, float lr, float beta1,
                                     float beta2, float eps, float wd, float c1, float c2) {
    const unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float gi = g[i];
    const float mi = __fadd_rn(__fmul_rn(beta1, m[i]), __fmul_rn(1.0f - beta1, gi));
    const float vi = __fadd_rn(__fmul_rn(beta2, v[i]), __fmul_rn(1.0f - beta2, __fmul_rn(gi, gi)));
    m[i] = mi;
    v[i] = vi;
    const float mhat = mi / c1;
    const float vhat = vi / c2;
    const float pi = p[i];
    const float step = __fadd_rn(__fmul_rn(lr, mhat) / __fadd_rn(sqrtf(vhat), eps), __fmul_rn(__fmul_rn(lr, wd), pi));
    p[i] = __fsub_rn(pi, step);
}

extern "C" __global__ void sgd_step(float* __restrict__ p, const float* __restrict__ g, unsigned int n, float lr) {
    const unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    p[i] = __fsub_rn(p[i], __fmul_rn(lr, g[i]));
}

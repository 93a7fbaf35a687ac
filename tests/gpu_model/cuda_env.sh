# cuda_env.sh: sourced by the device-side scripts (gpu_run.sh, graph_run.sh):
# the kernel cache, the model files, and where libcublasLt / libnvrtc are when
# the loader does not find them (pip-installed nvidia packages on the image).
export SSDC_CACHE_DIR=${SSDC_CACHE_DIR:-/tmp/ssdc-gpu-cache}
export SSDC_MODELS=$PWD/models
pylib() { # the first lib$1.so* of a pip-installed nvidia package $2
  python3 -c "import $2,os;d=os.path.join($2.__path__[0],'lib');print(os.path.join(d,sorted(f for f in os.listdir(d) if f.startswith('lib$1.so'))[0]))" 2>/dev/null
}
if [ -z "${SSDC_CUBLASLT:-}" ]; then
  lt=$(ls /usr/local/cuda/lib64/libcublasLt.so* 2>/dev/null | head -1)
  [ -n "$lt" ] || lt=$(pylib cublasLt nvidia.cublas)
  [ -n "$lt" ] && export SSDC_CUBLASLT=$lt
fi
if [ -z "${SSDC_NVRTC:-}" ] && ! ldconfig -p 2>/dev/null | grep -q libnvrtc.so; then
  nv=$(ls /usr/local/cuda/lib64/libnvrtc.so* 2>/dev/null | head -1)
  [ -n "$nv" ] || nv=$(pylib nvrtc nvidia.cuda_nvrtc)
  [ -n "$nv" ] && export SSDC_NVRTC=$nv
fi
echo "cublasLt: ${SSDC_CUBLASLT:-default}  nvrtc: ${SSDC_NVRTC:-default}"

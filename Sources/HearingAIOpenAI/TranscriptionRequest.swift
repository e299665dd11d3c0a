public import HearingAI

/// The bytes of one chunk's upload: a 16 kHz mono 16-bit WAV inside a multipart form.
public enum TranscriptionRequest {
    /// A canonical 44-byte-header PCM WAV of `samples` at `sampleRate`, mono, 16-bit.
    public static func wav(_ samples: [Int16], sampleRate: Int = ChunkPlan.sampleRate) -> [UInt8] {
        let dataBytes = samples.count * 2
        var out: [UInt8] = []
        out.reserveCapacity(44 + dataBytes)
        func append(_ text: String) { out += Array(text.utf8) }
        func append32(_ value: Int) { withUnsafeBytes(of: UInt32(value).littleEndian) { out += $0 } }
        func append16(_ value: Int) { withUnsafeBytes(of: UInt16(value).littleEndian) { out += $0 } }
        append("RIFF")
        append32(36 + dataBytes)
        append("WAVE")
        append("fmt ")
        append32(16)
        append16(1)
        append16(1)
        append32(sampleRate)
        append32(sampleRate * 2)
        append16(2)
        append16(16)
        append("data")
        append32(dataBytes)
        samples.withUnsafeBufferPointer { buffer in
            for sample in buffer {
                withUnsafeBytes(of: sample.littleEndian) { out += $0 }
            }
        }
        return out
    }

    /// A multipart/form-data body and its boundary.
    public struct Multipart: Sendable {
        /// The separator, unique to this body.
        public let boundary: String
        /// The encoded body.
        public private(set) var body: [UInt8] = []

        /// An empty form with a random boundary.
        public init() {
            boundary = "hearingai-" + (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
        }

        /// The `Content-Type` header value.
        public var contentType: String { "multipart/form-data; boundary=\(boundary)" }

        /// Adds a text field.
        public mutating func add(name: String, value: String) {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(Self.escaped(name))\"\r\n\r\n\(value)\r\n".utf8)
        }

        /// Adds a file.
        public mutating func add(name: String, fileName: String, contentType: String, data: [UInt8]) {
            body += Array(
                ("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(Self.escaped(name))\"; "
                    + "filename=\"\(Self.escaped(fileName))\"\r\nContent-Type: \(contentType)\r\n\r\n").utf8)
            body += data
            body += Array("\r\n".utf8)
        }

        /// Closes the form. Nothing may be added afterwards.
        public mutating func finish() {
            body += Array("--\(boundary)--\r\n".utf8)
        }

        private static func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(
                of: "\n", with: "%0A")
        }
    }

    /// The form for `chunk`: the file, the model, `verbose_json` with word and segment
    /// timestamps, the language and prompt when set, and `temperature` when one is asked for
    /// (a retry after a loop; otherwise the server's default, which falls back by itself).
    /// `language` replaces the configured language (the one detected in the run's first chunk).
    /// The prompt is the configured one followed by the chunk's ``Chunk/precedingText``, unless
    /// `withContext` is false.
    public static func form(
        for chunk: Chunk, configuration: OpenAIEngine.Configuration, temperature: Double? = nil, language: String? = nil,
        withContext: Bool = true
    ) -> Multipart {
        let prompt = configuration.prompt(precedingText: withContext ? chunk.precedingText : nil)
        var form = Multipart()
        form.add(name: "file", fileName: "chunk-\(chunk.index).wav", contentType: "audio/wav", data: wav(chunk.samples))
        form.add(name: "model", value: configuration.model)
        form.add(name: "response_format", value: "verbose_json")
        form.add(name: "timestamp_granularities[]", value: "word")
        form.add(name: "timestamp_granularities[]", value: "segment")
        if let language = language ?? configuration.language { form.add(name: "language", value: language) }
        if let prompt { form.add(name: "prompt", value: prompt) }
        if let temperature { form.add(name: "temperature", value: String(temperature)) }
        form.finish()
        return form
    }
}

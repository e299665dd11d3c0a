extension PocketSphinxEngine {
    /// Makes the embedded engine from configuration: the model files it loads.
    public struct Factory: EngineFactory {
        /// `pocketsphinx`.
        public static let name = "pocketsphinx"

        /// The factory.
        public init() {}

        public var name: String { Self.name }
        public var summary: String { "embedded, offline" }

        /// `model_dir` (`--model-dir`).
        public static let modelDirectory = ConfigurationKey(
            "model_dir", .string, flag: "--model-dir", default: PocketSphinxModel.debianModelDirectory,
            help: "PocketSphinx model directory, laid out like Debian's pocketsphinx-en-us.")
        /// `dictionary` (`--dictionary`).
        public static let dictionary = ConfigurationKey(
            "dictionary", .string, flag: "--dictionary", default: "from the model directory",
            help: "PocketSphinx pronunciation dictionary.")
        /// `language_model` (`--language-model`).
        public static let languageModel = ConfigurationKey(
            "language_model", .string, flag: "--language-model", default: "from the model directory",
            help: "PocketSphinx n-gram language model.")

        public var keys: [ConfigurationKey] { [Self.modelDirectory, Self.dictionary, Self.languageModel] }

        public func makeEngine(_ selection: EngineSelection) throws -> any TranscriptionEngine {
            try PocketSphinxEngine(
                model: PocketSphinxModel(
                    modelDirectory: selection.string(Self.modelDirectory.name),
                    dictionary: selection.string(Self.dictionary.name),
                    languageModel: selection.string(Self.languageModel.name)),
                vocabulary: selection.vocabulary)
        }
    }
}

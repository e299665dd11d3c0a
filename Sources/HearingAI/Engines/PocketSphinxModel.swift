import Foundation

/// The files of a PocketSphinx model: acoustic model directory, language model, dictionary.
public struct PocketSphinxModel: Sendable, Hashable {
    /// The acoustic model directory (`-hmm`).
    public var acousticModel: String
    /// The n-gram language model (`-lm`).
    public var languageModel: String
    /// The pronunciation dictionary (`-dict`).
    public var dictionary: String

    /// Where Debian's `pocketsphinx-en-us` package installs the US English model.
    public static let debianModelDirectory = "/usr/share/pocketsphinx/model/en-us"

    /// The model in `modelDirectory` (laid out as Debian's `pocketsphinx-en-us`), with
    /// `dictionary` and `languageModel` overriding the files inside it.
    public init(modelDirectory: String? = nil, dictionary: String? = nil, languageModel: String? = nil) {
        let dir = modelDirectory ?? Self.debianModelDirectory
        acousticModel = dir + "/en-us"
        self.languageModel = languageModel ?? dir + "/en-us.lm.bin"
        self.dictionary = dictionary ?? dir + "/cmudict-en-us.dict"
    }

    /// Throws naming the first missing file.
    public func validate() throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: acousticModel, isDirectory: &isDir), isDir.boolValue else {
            throw HearingAIError(
                .engineUnavailable, path: acousticModel,
                reason: "PocketSphinx acoustic model directory not found (install pocketsphinx-en-us or pass --model-dir)")
        }
        for file in [languageModel, dictionary] where !fm.isReadableFile(atPath: file) {
            throw HearingAIError(.engineUnavailable, path: file, reason: "PocketSphinx model file not found or unreadable")
        }
    }
}

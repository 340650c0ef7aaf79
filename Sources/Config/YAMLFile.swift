import Foundation
import Yams

/// Reading a YAML file into a node tree, with the file (and line) in every error.
enum YAMLFile {
    static func read(_ path: String, what: String) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, message: "cannot read the \(what) (\(error.localizedDescription))")
        }
    }

    /// The document's root; `expected` says what an empty file lacks.
    static func root(_ yaml: String, file: String, expected: String) throws(ConfigError) -> Node {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigError(file: file, line: error.line, message: "not valid YAML: \(error.problem)")
        } catch {
            throw ConfigError(file: file, message: "not valid YAML: \(error)")
        }
        guard let root else { throw ConfigError(file: file, message: "the file is empty; expected \(expected)") }
        return root
    }
}

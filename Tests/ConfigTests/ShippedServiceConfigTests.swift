import Config
import Foundation
import Testing

/// The service examples this project ships: `configs/smollm.yaml` and the README's vLLM one.
@Suite struct ShippedServiceConfigTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Its command's relative paths are relative to the working directory, which `swift test`
    /// sets to the repository (as the README's `swift run` does).
    @Test func theSmolLMExampleRunsOneServiceAndThreeMinersOnIt() throws {
        #expect(FileManager.default.currentDirectoryPath == Self.repository.path)
        let config = try MinersConfig.load(path: Self.repository.appendingPathComponent("configs/smollm.yaml").path)
        #expect(config.services.map(\.name) == ["smollm"])
        let service = try #require(config.services.first)
        #expect(service.command.prefix(3) == [".venv-llm/bin/python", "-m", "llama_cpp.server"])
        #expect(service.command.contains(".venv-llm/smollm2.gguf"))
        #expect(service.health.path == "/v1/models" && service.health.model == "smollm2")
        #expect(service.command.contains(String(service.port)))
        #expect(config.miners.map(\.streamingBatchSize) == [12, 4, 1])
        for miner in config.miners {
            #expect(miner.services == ["smollm"])
            #expect(miner.backend.http?.baseURL == "http://127.0.0.1:\(service.port)/v1")
            guard case .openai(let openai) = miner.backend else {
                Issue.record("\(miner.name): not an openai backend")
                continue
            }
            #expect(openai.model == service.health.model)
        }
        #expect(config.dependents(of: "smollm") == ["alpha", "bravo", "charlie"])
    }

    /// The README's vLLM example, with a program and hotkeys that exist here.
    @Test func theReadmeVLLMExampleParses() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = try #require(readme.range(of: "operation with vLLM on two GPUs")?.upperBound)
        let after = readme[marker...]
        let start = try #require(after.range(of: "```yaml\n")?.upperBound)
        let end = try #require(after[start...].range(of: "```")?.lowerBound)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let envFile = directory.appendingPathComponent("hf.env").path
        try "HF_TOKEN=hf_example\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        chmod(envFile, 0o600)
        let yaml = String(after[start..<end])
            .replacingOccurrences(of: "[vllm,", with: "[/bin/true,")
            .replacingOccurrences(of: "/etc/miners/hf.env", with: envFile)
            .replacingOccurrences(of: "hotkey: 5F...", with: "hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
            .replacingOccurrences(of: "hotkey: 5G...", with: "hotkey: 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty")
        let config = try MinersConfig.parse(yaml: yaml, file: "README.md")
        #expect(config.services.map(\.gpus) == [[0], [1]])
        #expect(config.services.map(\.health.path) == ["/health", "/health"])
        #expect(try config.miner(named: "m1").backend.http?.baseURL == "http://127.0.0.1:8000/v1")
        #expect(try config.miner(named: "m2").backend.http?.baseURL == "http://127.0.0.1:8001/v1")
        #expect(try config.services[0].environment.resolved()["HF_TOKEN"] == "hf_example")
        #expect(!config.services[0].sharesGPU(with: config.services[1]))
    }
}

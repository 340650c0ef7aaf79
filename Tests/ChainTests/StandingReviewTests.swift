import Foundation
import Testing
@testable import Chain

/// Review of #18: a chain node's numbers are hostile; the immunity left of a neuron must not
/// trap the supervisor's metagraph refresh whatever they are.
@Suite struct StandingReviewTests {
    @Test func immunityOfAbsurdRegistrationBlocksOrPeriodsIsUnknownNotATrap() throws {
        var graph = try StandingFieldsTests().metagraph()
        var neuron = graph.neurons[184]
        #expect(graph.immunityLeft(neuron) == 1337)
        neuron.blockAtRegistration = Int.max
        #expect(graph.immunityLeft(neuron) == nil)
        neuron.blockAtRegistration = 0
        graph.immunityPeriod = Int.max
        #expect(graph.immunityLeft(neuron) == Int.max - graph.block)
        graph.block = Int.min
        graph.immunityPeriod = 7200
        #expect(graph.immunityLeft(neuron) == nil)
    }
}

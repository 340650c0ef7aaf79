/// How the validator simulator poses its arithmetic questions (`miners simulate
/// --question-style`, a matrix file's `load.question_style`).
public enum QuestionStyle: String, CaseIterable, Sendable {
    /// The einstein validator's query around a math-dataset problem, form-encoded as it sends it.
    case einstein
    /// The bare problem (`$45+7=$`), form-encoded the same way.
    case problem
    /// `What is A op B?`, the simulator's questions before it asked the validator's.
    case plain

    public var summary: String {
        switch self {
        case .einstein:
            "the einstein validator's query, \"How can I solve the following problem, $45+7=$? Make sure to include "
                + "the whole problem when you ask your question.\", around basic_math problems (+, -, \\cdot, \\div; "
                + "one in five a \\div with a 2-decimal answer), form-encoded as it sends it"
        case .problem: "the same problems bare (\"$45+7=$\"), form-encoded the same way"
        case .plain: "\"What is 12 * 3?\" with small integers (+, -, *)"
        }
    }
}

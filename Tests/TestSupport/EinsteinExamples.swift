/// VALIDATOR-QUESTIONS.md §2.A, i 0–23: the math dataset's four arithmetic generators, each
/// problem with its reference, as the real generator wrote them.
public enum EinsteinExamples {
    public static let table: [(problem: String, reference: String)] = [
        ("$45+7=$", "52"), ("$33-30=$", "3"), ("$2\\cdot2=$", "4"), ("$40\\div20=$", "2"),
        ("$39+30=$", "69"), ("$14-5=$", "9"), ("$8\\cdot4=$", "32"), ("$91\\div13=$", "7"),
        ("$21+26=$", "47"), ("$66-7=$", "59"), ("$10\\cdot1=$", "10"), ("$306\\div17=$", "18"),
        ("$29+12=$", "41"), ("$87-50=$", "37"), ("$4\\cdot10=$", "40"), ("$132\\div22=$", "6"),
        ("$11+3=$", "14"), ("$55-27=$", "28"), ("$11\\cdot0=$", "0"), ("$108\\div12=$", "9"),
        ("$23+39=$", "62"), ("$54-3=$", "51"), ("$3\\cdot7=$", "21"), ("$230\\div23=$", "10"),
    ]
}

namespace ContributiAutomatici.Engine.Model;

/// <summary>Where a work is destined first (DM 2021 art. 2.2.d).</summary>
public enum WorkKind { Cinema = 1, TvWeb = 2 }

/// <summary>Where a TV/web work is first destined (DM 2017 had separate TV and web quotas).</summary>
public enum TvWebDestination { Unspecified = 0, Tv = 1, Web = 2 }

/// <summary>The applicant's role (art. 4.1); each role is a column of the tables.</summary>
public enum Role { Producer = 1, TheatricalDistributor = 2, InternationalDistributor = 3, HomeEntertainmentPublisher = 4 }

public enum CoproductionKind { None = 0, Bilateral = 1, Multilateral = 2 }

/// <summary>
/// What the decree calls a work by its producers' States (art. 2.f-h), on the date it was recognised as Italian.
/// <see cref="Declared"/>: no co-producers named, the request's <see cref="CoproductionKind"/> flag taken as a coproduzione.
/// </summary>
public enum CoproductionCategory
{
    /// <summary>No foreign producer.</summary>
    National = 1,
    /// <summary>Coproduzione internazionale (art. 2.f) with one foreign State, under its bilateral agreement.</summary>
    BilateralCoproduction = 2,
    /// <summary>Coproduzione internazionale (art. 2.f) with two or more agreement States, or under the Council of Europe's convention.</summary>
    MultilateralCoproduction = 3,
    /// <summary>Compartecipazione internazionale (art. 2.g): a cinema work with a producer of a State without an agreement.</summary>
    Participation = 4,
    /// <summary>Produzione internazionale (art. 2.h): a non-cinema work with a producer of a State without an agreement.</summary>
    InternationalProduction = 5,
    /// <summary>No co-producers named: the request's flag says a bilateral or multilateral coproduzione (not checked).</summary>
    Declared = 6,
}

/// <summary>Section of a Tabella 6 festival the work was shown in.</summary>
public enum FestivalSection { Competition = 1, OfficialOutOfCompetition = 2 }

/// <summary>Which festival entries a festival row counts (Tabelle 1-4, section C).</summary>
public enum FestivalMatch
{
    /// <summary>Any official section, competition included (bands B and C).</summary>
    Participation,
    /// <summary>Official competition only (band A).</summary>
    Competition,
    /// <summary>Official sections outside the competition (band A).</summary>
    OutOfCompetition,
    /// <summary>Any prize won in an official section.</summary>
    AnyPrize,
    /// <summary>A prize won in competition.</summary>
    CompetitionPrize,
    /// <summary>A prize won in an official section outside the competition.</summary>
    OutOfCompetitionPrize,
    /// <summary>The best-film prize.</summary>
    BestFilmPrize,
    /// <summary>A prize other than best film.</summary>
    OtherPrize,
}

public enum PrizeCategory { BestFilm = 1, Artistic = 2 }

public enum PrizeOutcome { Nomination = 1, Win = 2 }

/// <summary>Which Tabella 7 entries a prize row counts.</summary>
public enum PrizeMatch
{
    /// <summary>Any nomination or win, any category.</summary>
    Any,
    /// <summary>Best film: nomination (cinquina) or win (a win also earns the nomination row).</summary>
    BestFilmNomination,
    /// <summary>Best film: win.</summary>
    BestFilmWin,
    /// <summary>Artistic categories: nomination or win.</summary>
    ArtisticNomination,
    /// <summary>Artistic categories: win.</summary>
    ArtisticWin,
}

/// <summary>Animation phases done in Italy (Tabella 3 B.7).</summary>
public enum ProcessingPhase
{
    Storyboard = 1, ModellingRigging3D = 2, Layout = 3, Animation = 4, CompositingRendering = 5,
    MusicRecording = 6, SoundEditingMixing = 7, FinalEditing = 8, GraphicsModelpack = 9,
}

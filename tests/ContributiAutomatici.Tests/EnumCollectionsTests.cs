using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Tests;

/// <summary>The read-only enum set and map of the rule definitions behave as a set and a dictionary, in the order written.</summary>
public class EnumCollectionsTests
{
    [Fact]
    public void A_set_keeps_each_value_once_in_the_order_written_and_answers_as_a_set()
    {
        var set = new EnumSet<Role>([Role.HomeEntertainmentPublisher, Role.Producer, Role.HomeEntertainmentPublisher]);
        Assert.Equal([Role.HomeEntertainmentPublisher, Role.Producer], set);
        Assert.Equal(2, set.Count);
        Assert.True(set.Contains(Role.Producer));
        Assert.False(set.Contains(Role.TheatricalDistributor));
        Assert.True(set.SetEquals([Role.Producer, Role.HomeEntertainmentPublisher, Role.Producer]));
        Assert.True(set.IsSubsetOf([Role.Producer, Role.HomeEntertainmentPublisher, Role.TheatricalDistributor]));
        Assert.True(set.IsProperSubsetOf([Role.Producer, Role.HomeEntertainmentPublisher, Role.TheatricalDistributor]));
        Assert.False(set.IsProperSubsetOf([Role.Producer, Role.HomeEntertainmentPublisher]));
        Assert.True(set.IsSupersetOf([Role.Producer]));
        Assert.True(set.IsProperSupersetOf([Role.Producer]));
        Assert.False(set.IsSupersetOf([Role.TheatricalDistributor]));
        Assert.True(set.Overlaps([Role.TheatricalDistributor, Role.Producer]));
        Assert.False(set.Overlaps([Role.TheatricalDistributor]));
        Assert.Empty(new EnumSet<WorkKind>([]));
        Assert.Equal("HomeEntertainmentPublisher, Producer", set.ToString());
    }

    [Fact]
    public void A_map_finds_each_key_and_refuses_a_key_twice()
    {
        var map = new EnumMap<Role, string>([Role.TheatricalDistributor, Role.Producer], ["d", "p"]);
        Assert.Equal(2, map.Count);
        Assert.Equal("p", map[Role.Producer]);
        Assert.True(map.TryGetValue(Role.TheatricalDistributor, out var d) && d == "d");
        Assert.False(map.TryGetValue(Role.InternationalDistributor, out _));
        Assert.False(map.ContainsKey(Role.InternationalDistributor));
        Assert.Throws<KeyNotFoundException>(() => map[Role.InternationalDistributor]);
        Assert.Equal([Role.TheatricalDistributor, Role.Producer], map.Keys);
        Assert.Equal(["d", "p"], map.Values);
        Assert.Equal([new(Role.TheatricalDistributor, "d"), new KeyValuePair<Role, string>(Role.Producer, "p")], map);
        Assert.Throws<ArgumentException>(() => new EnumMap<Role, string>([Role.Producer, Role.Producer], ["a", "b"]));
        Assert.Throws<ArgumentException>(() => new EnumMap<Role, string>([Role.Producer], []));
    }
}
